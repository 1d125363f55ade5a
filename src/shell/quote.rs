//! Quoting words for bash: one rule (single quotes, `'` written as `'\''`)
//! for every script labctl writes. Hand-written rather than `shlex::try_quote`
//! because shlex picks double quotes for words holding `'` and quotes `=`,
//! which would change the `export` lines users `eval` and the pod scripts
//! `labctl job` prints.

use std::borrow::Cow;

/// `word` inside single quotes, always: the form `labctl sandbox` prints in
/// its `export` lines and terminals type for paths, whatever they hold.
pub(crate) fn single_quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// `word` as it is when every character is safe unquoted, else single-quoted.
pub(crate) fn quoted_if_needed(word: &str) -> Cow<'_, str> {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
    if plain {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(single_quoted(word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_quotes_survive_inside_single_quotes() {
        assert_eq!(single_quoted("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(single_quoted("/tmp/it's"), r"'/tmp/it'\''s'");
        assert_eq!(single_quoted("plain"), "'plain'");
    }

    #[test]
    fn safe_words_stay_bare() {
        assert_eq!(quoted_if_needed("expected=ok"), "expected=ok");
        assert_eq!(quoted_if_needed("it's"), r"'it'\''s'");
        assert_eq!(quoted_if_needed(""), "''");
        assert_eq!(quoted_if_needed("a b"), "'a b'");
    }

    #[test]
    fn bash_reads_back_what_was_quoted() {
        for word in ["a b", "it's", "$HOME", "x\"y", "", "tab\there", "new\nline"] {
            let out = std::process::Command::new("bash")
                .args(["--noprofile", "--norc", "-c"])
                .arg(format!("printf %s {}", quoted_if_needed(word)))
                .output()
                .expect("bash runs");
            assert_eq!(String::from_utf8_lossy(&out.stdout), word);
        }
    }
}
