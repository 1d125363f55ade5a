//! A JSON value as a person reads it: a string bare (no quotes, no escapes), anything else
//! as compact JSON. Checks compare, reports show and the book words values this one way.

use serde_json::Value;

/// `"ok"` → `ok`, `200` → `200`, `[1,2]` → `[1,2]`.
pub(crate) fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_bare_everything_else_as_json() {
        assert_eq!(to_text(&json!("a \"b\"")), "a \"b\"");
        assert_eq!(to_text(&json!(200)), "200");
        assert_eq!(to_text(&json!(true)), "true");
        assert_eq!(to_text(&json!({"a": [1, null]})), r#"{"a":[1,null]}"#);
    }
}
