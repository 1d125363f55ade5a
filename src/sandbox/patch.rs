//! Patches: JSON merge patch (RFC 7386, also used for strategic merge) and JSON patch (RFC 6902).

use serde::Deserialize;
use serde_json::Value;

/// Applies an RFC 7386 merge patch: objects merge, `null` deletes, anything else replaces.
pub(super) use json_patch::merge;

/// Removes strategic-merge directives (`$patch`, `$setElementOrder/...`, `$retainKeys`) so a
/// strategic patch can be applied as a merge patch without storing them as fields.
pub(super) fn strip_directives(v: &mut Value) {
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
#[derive(Debug, thiserror::Error)]
pub(super) enum JsonPatchError {
    /// The patch document is not an array of RFC 6902 operations.
    #[error("the patch is not a JSON array of operations: {0}")]
    Malformed(serde_json::Error),
    /// An operation failed (a path that does not exist, a `test` that did not hold).
    #[error(transparent)]
    Failed(#[from] json_patch::PatchError),
}

/// Applies an RFC 6902 JSON patch to `doc`; on error `doc` is left unchanged.
pub(super) fn json_patch(doc: &mut Value, patch: &Value) -> Result<(), JsonPatchError> {
    let ops = json_patch::Patch::deserialize(patch).map_err(JsonPatchError::Malformed)?;
    json_patch::patch(doc, &ops)?;
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
    fn malformed_json_patch_is_an_error() {
        let mut d = json!({"a": 1});
        for bad in [json!({"op": "add"}), json!([{"op": "frob", "path": "/a"}])] {
            let err = json_patch(&mut d, &bad);
            assert!(matches!(err, Err(JsonPatchError::Malformed(_))), "{err:?}");
        }
        assert_eq!(d, json!({"a": 1}));
    }

    #[test]
    fn failed_json_patch_leaves_doc_alone() {
        let mut d = json!({"a": 1});
        let err = json_patch(
            &mut d,
            &json!([{"op": "add", "path": "/b", "value": 2}, {"op": "remove", "path": "/zz"}]),
        );
        assert!(
            matches!(&err, Err(JsonPatchError::Failed(e)) if e.operation == 1),
            "{err:?}"
        );
        assert_eq!(d, json!({"a": 1}));
    }
}
