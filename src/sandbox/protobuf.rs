//! Just enough Kubernetes protobuf decoding for the objects `kubectl create configmap|secret|
//! namespace` send: kubectl 1.32 posts those as protobuf and does not fall back to JSON.

use serde_json::{Map, Value, json};

/// How one field of a message maps to JSON.
#[derive(Clone, Copy)]
enum Field {
    Str(&'static str),
    Bytes(&'static str),
    Bool(&'static str),
    Int(&'static str),
    Msg(&'static str, &'static [(u64, Field)]),
    StrList(&'static str),
    MapStr(&'static str),
    MapBytes(&'static str),
}

const OBJECT_META: &[(u64, Field)] = &[
    (1, Field::Str("name")),
    (2, Field::Str("generateName")),
    (3, Field::Str("namespace")),
    (7, Field::Int("generation")),
    (11, Field::MapStr("labels")),
    (12, Field::MapStr("annotations")),
    (14, Field::StrList("finalizers")),
];

const CONFIG_MAP: &[(u64, Field)] = &[
    (1, Field::Msg("metadata", OBJECT_META)),
    (2, Field::MapStr("data")),
    (3, Field::MapBytes("binaryData")),
    (4, Field::Bool("immutable")),
];

const SECRET: &[(u64, Field)] = &[
    (1, Field::Msg("metadata", OBJECT_META)),
    (2, Field::MapBytes("data")),
    (3, Field::Str("type")),
    (4, Field::MapStr("stringData")),
    (5, Field::Bool("immutable")),
];

const NAMESPACE: &[(u64, Field)] = &[
    (1, Field::Msg("metadata", OBJECT_META)),
    (2, Field::Msg("spec", &[(1, Field::StrList("finalizers"))])),
];

/// The envelope (`runtime.Unknown`) after the `k8s\0` magic.
const UNKNOWN: &[(u64, Field)] = &[
    (
        1,
        Field::Msg(
            "typeMeta",
            &[(1, Field::Str("apiVersion")), (2, Field::Str("kind"))],
        ),
    ),
    (2, Field::Bytes("raw")),
];

/// Why a protobuf body could not be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum ProtobufError {
    /// The bytes are not well-formed protobuf.
    #[error("malformed protobuf at byte {0}")]
    Malformed(usize),
    /// A kind the sandbox cannot decode from protobuf.
    #[error(
        "the sandbox decodes protobuf only for ConfigMap, Secret and Namespace, not {0:?}; use `kubectl apply -f`"
    )]
    Unsupported(String),
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .b
                .get(self.at)
                .ok_or(ProtobufError::Malformed(self.at))?;
            self.at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ProtobufError::Malformed(self.at))
    }

    fn bytes(&mut self) -> Result<&'a [u8], ProtobufError> {
        let n = usize::try_from(self.varint()?).map_err(|_| ProtobufError::Malformed(self.at))?;
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or(ProtobufError::Malformed(self.at))?;
        let out = &self.b[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn skip(&mut self, wire: u64) -> Result<(), ProtobufError> {
        let n = match wire {
            0 => return self.varint().map(|_| ()),
            1 => 8,
            2 => return self.bytes().map(|_| ()),
            5 => 4,
            _ => return Err(ProtobufError::Malformed(self.at)),
        };
        self.at = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or(ProtobufError::Malformed(self.at))?;
        Ok(())
    }
}

/// Bytes as Kubernetes writes them in JSON: standard base64 with padding.
fn base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn text(b: &[u8]) -> Value {
    json!(String::from_utf8_lossy(b))
}

/// A map entry message: key = 1, value = 2.
fn entry(b: &[u8]) -> Result<(String, &[u8]), ProtobufError> {
    let mut r = Reader { b, at: 0 };
    let (mut k, mut v): (String, &[u8]) = (String::new(), &[]);
    while r.at < b.len() {
        let key = r.varint()?;
        match (key >> 3, key & 7) {
            (1, 2) => k = String::from_utf8_lossy(r.bytes()?).into_owned(),
            (2, 2) => v = r.bytes()?,
            (_, wire) => r.skip(wire)?,
        }
    }
    Ok((k, v))
}

fn message(b: &[u8], schema: &[(u64, Field)]) -> Result<Value, ProtobufError> {
    let mut r = Reader { b, at: 0 };
    let mut out = Map::new();
    while r.at < b.len() {
        let key = r.varint()?;
        let (num, wire) = (key >> 3, key & 7);
        let Some((_, field)) = schema.iter().find(|(n, _)| *n == num) else {
            r.skip(wire)?;
            continue;
        };
        match (*field, wire) {
            // Go's protobuf writes empty strings and zeros; JSON would omit them.
            (Field::Str(name), 2) => {
                let b = r.bytes()?;
                if !b.is_empty() {
                    out.insert(name.into(), text(b));
                }
            }
            (Field::Bytes(name), 2) => {
                out.insert(name.into(), json!(base64(r.bytes()?)));
            }
            (Field::Bool(name), 0) => {
                if r.varint()? != 0 {
                    out.insert(name.into(), json!(true));
                }
            }
            (Field::Int(name), 0) => {
                let v = r.varint()? as i64;
                if v != 0 {
                    out.insert(name.into(), json!(v));
                }
            }
            (Field::Msg(name, inner), 2) => {
                out.insert(name.into(), message(r.bytes()?, inner)?);
            }
            (Field::StrList(name), 2) => {
                let v = text(r.bytes()?);
                if let Value::Array(a) = out.entry(name).or_insert_with(|| json!([])) {
                    a.push(v);
                }
            }
            (Field::MapStr(name) | Field::MapBytes(name), 2) => {
                let (k, v) = entry(r.bytes()?)?;
                let v = match field {
                    Field::MapBytes(_) => json!(base64(v)),
                    _ => text(v),
                };
                if let Value::Object(m) = out.entry(name).or_insert_with(|| json!({})) {
                    m.insert(k, v);
                }
            }
            (_, wire) => r.skip(wire)?,
        }
    }
    Ok(Value::Object(out))
}

/// Decodes a `k8s\0`-prefixed protobuf body into the JSON object it stands for.
pub(super) fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let env = message(body.strip_prefix(b"k8s\0").unwrap_or(body), UNKNOWN)?;
    let kind = env
        .pointer("/typeMeta/kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let schema = match kind {
        "ConfigMap" => CONFIG_MAP,
        "Secret" => SECRET,
        "Namespace" => NAMESPACE,
        other => return Err(ProtobufError::Unsupported(other.to_string())),
    };
    let raw = raw_bytes(body.strip_prefix(b"k8s\0").unwrap_or(body))?;
    let mut obj = message(raw, schema)?;
    obj["apiVersion"] = env
        .pointer("/typeMeta/apiVersion")
        .cloned()
        .unwrap_or(json!("v1"));
    obj["kind"] = json!(kind);
    Ok(obj)
}

/// The bytes of field 2 (`raw`) of the envelope.
fn raw_bytes(b: &[u8]) -> Result<&[u8], ProtobufError> {
    let mut r = Reader { b, at: 0 };
    while r.at < b.len() {
        let key = r.varint()?;
        if key == (2 << 3) | 2 {
            return r.bytes();
        }
        r.skip(key & 7)?;
    }
    Ok(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(num: u64, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![((num << 3) | 2) as u8, payload.len() as u8];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn decodes_a_configmap() {
        let meta = [
            field(1, b"demo"),
            field(11, &[field(1, b"app"), field(2, b"x")].concat()),
        ]
        .concat();
        let cm = [
            field(1, &meta),
            field(2, &[field(1, b"k"), field(2, b"v")].concat()),
        ]
        .concat();
        let tm = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let body = [b"k8s\0".to_vec(), field(1, &tm), field(2, &cm)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v,
            json!({"metadata": {"name": "demo", "labels": {"app": "x"}}, "data": {"k": "v"}, "apiVersion": "v1", "kind": "ConfigMap"})
        );
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b"y"), "eQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(b"k8s\0\x0a\xff\xff").is_err());
        assert!(decode(b"k8s\0\x0a\x05").is_err());
    }
}
