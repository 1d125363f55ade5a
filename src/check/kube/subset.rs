//! `fields:` — a subset match of an expectation against an object, and the diff shown
//! when it fails.
//!
//! Maps: every expected key must be present and match (other keys are ignored).
//! Arrays: every expected element must match a distinct actual element, in any order
//! (a bipartite matching, so `[a, a]` needs two `a`s). Scalars: typed equality
//! (`"1"` is not `1`; numbers compare by value, so `1` equals `1.0`).

use serde_json::Value;

/// True when `actual` contains everything `expected` names.
pub(super) fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, ev)| a.get(k).is_some_and(|av| matches(ev, av))),
        (Value::Array(e), Value::Array(a)) => assignment(e, a).iter().all(Option::is_some),
        (Value::Number(e), Value::Number(a)) => match (e.as_i64(), a.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => e.as_f64() == a.as_f64(),
        },
        (e, a) => e == a,
    }
}

/// For each expected element, the index of a distinct actual element it matches
/// (None where no assignment exists), by augmenting paths (Kuhn's algorithm): greedy
/// first-fit would fail `[{a:1}, {a:1,b:2}]` against `[{a:1,b:2}, {a:1}]`.
fn assignment(expected: &[Value], actual: &[Value]) -> Vec<Option<usize>> {
    let fits: Vec<Vec<usize>> = expected
        .iter()
        .map(|e| {
            (0..actual.len())
                .filter(|&j| matches(e, &actual[j]))
                .collect()
        })
        .collect();
    let mut owner: Vec<Option<usize>> = vec![None; actual.len()];
    fn augment(
        i: usize,
        fits: &[Vec<usize>],
        owner: &mut [Option<usize>],
        seen: &mut [bool],
    ) -> bool {
        for &j in &fits[i] {
            if seen[j] {
                continue;
            }
            seen[j] = true;
            if owner[j].is_none_or(|k| augment(k, fits, owner, seen)) {
                owner[j] = Some(i);
                return true;
            }
        }
        false
    }
    for i in 0..expected.len() {
        let mut seen = vec![false; actual.len()];
        augment(i, &fits, &mut owner, &mut seen);
    }
    let mut out = vec![None; expected.len()];
    for (j, o) in owner.iter().enumerate() {
        if let Some(i) = o {
            out[*i] = Some(j);
        }
    }
    out
}

/// How alike two values look, to pair an unmatched expected element with the actual
/// element most worth showing beside it in the diff.
fn likeness(expected: &Value, actual: &Value) -> usize {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            1 + e
                .iter()
                .filter(|(k, v)| a.get(*k).is_some_and(|av| matches(v, av)))
                .count()
        }
        (e, a) if std::mem::discriminant(e) == std::mem::discriminant(a) => 1,
        _ => 0,
    }
}

/// The part of `actual` that `expected` talks about: maps keep only the expected keys
/// (pruned recursively), arrays list, in expected order, the element each expected one
/// matched (or the most alike unused one). Diffing `expected` against this shows only
/// what differs, not the rest of the object.
pub(super) fn prune(expected: &Value, actual: &Value) -> Value {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => Value::Object(
            e.iter()
                .filter_map(|(k, ev)| a.get(k).map(|av| (k.clone(), prune(ev, av))))
                .collect(),
        ),
        (Value::Array(e), Value::Array(a)) => {
            let assigned = assignment(e, a);
            let mut used = vec![false; a.len()];
            for j in assigned.iter().flatten() {
                used[*j] = true;
            }
            let mut out = Vec::new();
            for (i, ev) in e.iter().enumerate() {
                let pick = assigned[i].or_else(|| {
                    let best = (0..a.len())
                        .filter(|&j| !used[j])
                        .max_by_key(|&j| (likeness(ev, &a[j]), std::cmp::Reverse(j)))?;
                    used[best] = true;
                    Some(best)
                });
                if let Some(j) = pick {
                    out.push(prune(ev, &a[j]));
                }
            }
            Value::Array(out)
        }
        _ => actual.clone(),
    }
}

/// YAML text of `v` for diffs (JSON when YAML serialization fails, which it should not).
fn yaml(v: &Value) -> String {
    serde_saphyr::to_string(v)
        .unwrap_or_else(|_| serde_json::to_string_pretty(v).unwrap_or_default())
}

/// A unified diff, in YAML, of `expected` against the matching part of `actual`.
pub(super) fn diff(expected: &Value, actual: &Value) -> String {
    let want = yaml(expected);
    let got = yaml(&prune(expected, actual));
    similar::TextDiff::from_lines(&want, &got)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_are_subsets() {
        let obj = json!({"spec": {"hosts": ["a", "b"], "location": "MESH_EXTERNAL", "x": 1}});
        assert!(matches(
            &json!({"spec": {"location": "MESH_EXTERNAL"}}),
            &obj
        ));
        assert!(!matches(
            &json!({"spec": {"location": "MESH_INTERNAL"}}),
            &obj
        ));
        assert!(!matches(&json!({"spec": {"missing": null}}), &obj));
        assert!(matches(&json!({}), &obj));
    }

    #[test]
    fn arrays_in_any_order_with_distinct_elements() {
        let obj = json!(["a", "b"]);
        assert!(matches(&json!(["b", "a"]), &obj));
        assert!(matches(&json!(["b"]), &obj));
        assert!(!matches(&json!(["a", "a"]), &obj));
        assert!(!matches(&json!(["c"]), &obj));
        // Needs the matching, not first-fit.
        let objs = json!([{"a": 1, "b": 2}, {"a": 1}]);
        assert!(matches(&json!([{"a": 1}, {"a": 1, "b": 2}]), &objs));
    }

    #[test]
    fn scalars_are_typed() {
        assert!(!matches(&json!("1"), &json!(1)));
        assert!(matches(&json!(1), &json!(1.0)));
        assert!(!matches(&json!(true), &json!("true")));
        assert!(matches(&json!(null), &json!(null)));
    }

    #[test]
    fn prune_keeps_what_the_expectation_names() {
        let obj = json!({"metadata": {"name": "x", "uid": "u"}, "spec": {"hosts": ["c", "b", "z"], "location": "MESH_INTERNAL"}});
        let want = json!({"spec": {"hosts": ["a", "b"], "location": "MESH_EXTERNAL"}});
        assert_eq!(
            prune(&want, &obj),
            json!({"spec": {"hosts": ["c", "b"], "location": "MESH_INTERNAL"}})
        );
        let d = diff(&want, &obj);
        assert!(
            d.contains("-    - a") || d.contains("-  - a") || d.contains("- a"),
            "{d}"
        );
        assert!(d.contains("+") && d.contains("MESH_INTERNAL"), "{d}");
        assert!(!d.contains("uid"), "{d}");
    }
}
