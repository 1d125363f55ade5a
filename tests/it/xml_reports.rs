//! JUnit and HTML stay well-formed XML 1.0 whatever bytes a step prints.

use proptest::prelude::*;

use crate::support::workshop::Workshop;

/// What XML 1.0's `Char` production allows.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Parses with quick-xml to the end and checks every character and every
/// character reference against XML 1.0 (quick-xml itself does not).
fn assert_xml_1_0(name: &str, text: &str) {
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{name} is not XML at {}: {e}", reader.buffer_position()),
        }
    }
    if let Some(c) = text.chars().find(|c| !is_xml_char(*c)) {
        panic!("{name} holds U+{:04X}, which XML 1.0 forbids", c as u32);
    }
    for reference in text.split("&#").skip(1) {
        let Some((num, _)) = reference.split_once(';') else {
            continue;
        };
        let value = match num.strip_prefix('x') {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => num.parse(),
        };
        if let Ok(v) = value {
            let ok = char::from_u32(v).is_some_and(is_xml_char);
            assert!(ok, "{name} references &#{num}; which XML 1.0 forbids");
        }
    }
}

/// Bytes that break XML: U+FFFE, U+FFFF, C0 controls, a UTF-8-encoded lone
/// surrogate, truncated sequences; mixed with any byte.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\xEF\xBF\xBE".to_vec()),
        Just(b"\xEF\xBF\xBF".to_vec()),
        Just(b"\xED\xA0\x80".to_vec()),
        Just(b"\xF0\x9F".to_vec()),
        (0u8..0x20).prop_map(|b| vec![b]),
        Just(b"]]><&'\"".to_vec()),
        any::<u8>().prop_map(|b| vec![b]),
        "[a-z ]{1,8}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 1..64).prop_map(|v| v.concat())
}

fn run_with_payload(payload: &[u8]) {
    let w = Workshop::new().pages(&[(
        "lab.md",
        "# L\n\n```execute {name=noise}\ncat payload.bin; cat payload.bin >&2; exit 1\n```\n\n```verify\n- stdout: { contains: never-there }\n```\n",
    )]);
    std::fs::write(w.join("payload.bin"), payload).unwrap();
    let junit = w.join("r.xml");
    let html = w.join("r.html");
    let (code, _, err) = w.run(&[
        "--report",
        &format!("junit={}", junit.display()),
        "--report",
        &format!("html={}", html.display()),
    ]);
    assert_eq!(code, 1, "{err}");
    let text = std::fs::read_to_string(&junit).expect("JUnit is UTF-8");
    assert_xml_1_0("JUnit", &text);
    let report = quick_junit::Report::deserialize_from_str(&text).expect("quick-junit reads it");
    assert_eq!(report.test_suites[0].failures, 1);
    assert_xml_1_0(
        "HTML",
        &std::fs::read_to_string(&html).expect("HTML is UTF-8"),
    );
}

#[test]
fn u_fffe_and_friends_are_replaced_in_junit_and_html() {
    run_with_payload(b"a\xEF\xBF\xBEb\xEF\xBF\xBFc\x01\x1b[31md\xED\xA0\x80e\r\n");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_through_a_failing_step_give_valid_xml(payload in hostile_bytes()) {
        run_with_payload(&payload);
    }
}
