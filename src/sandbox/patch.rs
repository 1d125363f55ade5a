//! Patches: JSON merge patch (RFC 7386, also used for strategic merge) and JSON patch (RFC 6902).

use serde_json::Value;

/// Applies an RFC 7386 merge patch: objects merge, `null` deletes, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// Removes strategic-merge directives (`$patch`, `$setElementOrder/...`, `$retainKeys`) so a
/// strategic patch can be applied as a merge patch without storing them as fields.
pub fn strip_directives(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !k.starts_with('$'));
            m.values_mut().for_each(strip_directives);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

/// Why a JSON patch could not be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonPatchError {
    /// The patch document is not an array of operations.
    #[error("the patch is not a JSON array of operations")]
    NotAnArray,
    /// An operation lacks a field or names an unknown op.
    #[error("operation {index} is malformed: {why}")]
    Malformed {
        /// Position of the operation in the patch.
        index: usize,
        /// What is wrong.
        why: String,
    },
    /// A path does not exist in the document.
    #[error("operation {index}: path {path:?} does not exist")]
    NoPath {
        /// Position of the operation in the patch.
        index: usize,
        /// The JSON pointer.
        path: String,
    },
    /// A `test` operation did not hold.
    #[error("operation {index}: test failed at {path:?}")]
    TestFailed {
        /// Position of the operation in the patch.
        index: usize,
        /// The JSON pointer.
        path: String,
    },
}

fn unescape(tok: &str) -> String {
    tok.replace("~1", "/").replace("~0", "~")
}

/// Splits a JSON pointer into its parent pointer and last token.
fn split_last(path: &str) -> Option<(&str, String)> {
    let i = path.rfind('/')?;
    Some((&path[..i], unescape(&path[i + 1..])))
}

fn add(doc: &mut Value, path: &str, val: Value) -> Option<()> {
    if path.is_empty() {
        *doc = val;
        return Some(());
    }
    let (parent, last) = split_last(path)?;
    match doc.pointer_mut(parent)? {
        Value::Object(m) => {
            m.insert(last, val);
            Some(())
        }
        Value::Array(a) => {
            let idx = if last == "-" {
                a.len()
            } else {
                last.parse().ok()?
            };
            if idx > a.len() {
                return None;
            }
            a.insert(idx, val);
            Some(())
        }
        _ => None,
    }
}

fn remove(doc: &mut Value, path: &str) -> Option<Value> {
    let (parent, last) = split_last(path)?;
    match doc.pointer_mut(parent)? {
        Value::Object(m) => m.shift_remove(&last),
        Value::Array(a) => {
            let idx: usize = last.parse().ok()?;
            (idx < a.len()).then(|| a.remove(idx))
        }
        _ => None,
    }
}

/// Applies an RFC 6902 JSON patch to `doc`; on error `doc` is left unchanged.
pub fn json_patch(doc: &mut Value, patch: &Value) -> Result<(), JsonPatchError> {
    let ops = patch.as_array().ok_or(JsonPatchError::NotAnArray)?;
    let mut work = doc.clone();
    for (index, op) in ops.iter().enumerate() {
        let field = |name: &str| {
            op.get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| JsonPatchError::Malformed {
                    index,
                    why: format!("missing {name:?}"),
                })
        };
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| JsonPatchError::Malformed {
                    index,
                    why: "missing \"value\"".into(),
                })
        };
        let path = field("path")?;
        let no_path = |p: &str| JsonPatchError::NoPath {
            index,
            path: p.to_string(),
        };
        match field("op")?.as_str() {
            "add" => add(&mut work, &path, value()?).ok_or_else(|| no_path(&path))?,
            "remove" => {
                remove(&mut work, &path).ok_or_else(|| no_path(&path))?;
            }
            "replace" => {
                let slot = work.pointer_mut(&path).ok_or_else(|| no_path(&path))?;
                *slot = value()?;
            }
            "move" => {
                let from = field("from")?;
                let v = remove(&mut work, &from).ok_or_else(|| no_path(&from))?;
                add(&mut work, &path, v).ok_or_else(|| no_path(&path))?;
            }
            "copy" => {
                let from = field("from")?;
                let v = work.pointer(&from).cloned().ok_or_else(|| no_path(&from))?;
                add(&mut work, &path, v).ok_or_else(|| no_path(&path))?;
            }
            "test" => {
                if work.pointer(&path) != Some(&value()?) {
                    return Err(JsonPatchError::TestFailed { index, path });
                }
            }
            other => {
                return Err(JsonPatchError::Malformed {
                    index,
                    why: format!("unknown op {other:?}"),
                });
            }
        }
    }
    *doc = work;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_deletes_and_replaces() {
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]});
        merge(&mut t, &json!({"a": null, "b": {"c": 5}, "l": [3]}));
        assert_eq!(t, json!({"b": {"c": 5, "d": 3}, "l": [3]}));
    }

    #[test]
    fn strategic_directives_are_dropped() {
        let mut p =
            json!({"spec": {"$setElementOrder/ports": [{"port": 1}], "ports": [{"port": 1}]}});
        strip_directives(&mut p);
        assert_eq!(p, json!({"spec": {"ports": [{"port": 1}]}}));
    }

    #[test]
    fn json_patch_ops() {
        let mut d = json!({"spec": {"hosts": ["a"]}, "data": {"k/x": "v"}});
        json_patch(
            &mut d,
            &json!([
                {"op": "add", "path": "/spec/hosts/-", "value": "b"},
                {"op": "replace", "path": "/data/k~1x", "value": "w"},
                {"op": "copy", "from": "/data/k~1x", "path": "/data/c"},
                {"op": "move", "from": "/data/c", "path": "/data/m"},
                {"op": "test", "path": "/data/m", "value": "w"},
                {"op": "remove", "path": "/spec/hosts/0"}
            ]),
        )
        .unwrap();
        assert_eq!(
            d,
            json!({"spec": {"hosts": ["b"]}, "data": {"k/x": "w", "m": "w"}})
        );
    }

    #[test]
    fn failed_json_patch_leaves_doc_alone() {
        let mut d = json!({"a": 1});
        let err = json_patch(
            &mut d,
            &json!([{"op": "add", "path": "/b", "value": 2}, {"op": "remove", "path": "/zz"}]),
        );
        assert!(matches!(err, Err(JsonPatchError::NoPath { index: 1, .. })));
        assert_eq!(d, json!({"a": 1}));
    }
}
