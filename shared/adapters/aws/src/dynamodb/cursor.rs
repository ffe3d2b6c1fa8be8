//! Opaque query cursors: the key attributes of the last item returned
//! (DynamoDB's `ExclusiveStartKey`), as URL-safe base64 of a JSON object.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ibrat_ports::store::schema::{IndexDef, TABLE};
use ibrat_ports::{Cursor, StoreError};

use super::convert::AttrMap;

/// The cursor for a position (key attribute name to string value).
pub(crate) fn encode(position: &BTreeMap<String, String>) -> Cursor {
    // Serializing a map of strings cannot fail.
    let json = serde_json::to_vec(position).unwrap_or_default();
    Cursor(URL_SAFE_NO_PAD.encode(json))
}

/// The start key a cursor names. Refuses cursors that are not ours, name
/// other key attributes than the query's, or another partition.
pub(crate) fn decode(cursor: &Cursor, index: Option<&IndexDef>, pk: &str) -> Result<AttrMap, StoreError> {
    let bad = |why: &str| StoreError::Invalid(format!("malformed cursor: {why}"));
    let json = URL_SAFE_NO_PAD.decode(cursor.0.as_bytes()).map_err(|_| bad("not base64"))?;
    let position: BTreeMap<String, String> = serde_json::from_slice(&json).map_err(|_| bad("not a position"))?;
    let mut names = vec![TABLE.pk, TABLE.sk];
    let partition = match index {
        Some(i) => {
            names.extend([i.pk, i.sk]);
            i.pk
        }
        None => TABLE.pk,
    };
    names.sort_unstable();
    names.dedup();
    if !position.keys().map(String::as_str).eq(names.iter().copied()) {
        return Err(bad("it belongs to another table or index"));
    }
    if position.get(partition).map(String::as_str) != Some(pk) {
        return Err(bad("it belongs to another query"));
    }
    Ok(position.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn round_trips_and_refuses_strangers() {
        let gsi1 = TABLE.index("gsi1");
        let p = pos(&[("pk", "a"), ("sk", "b"), ("gsi1pk", "G"), ("gsi1sk", "1")]);
        let c = encode(&p);
        let back = decode(&c, gsi1, "G").unwrap();
        assert_eq!(back.get("gsi1sk"), Some(&AttributeValue::S("1".into())));
        assert!(decode(&c, gsi1, "H").is_err(), "another partition");
        assert!(decode(&c, None, "a").is_err(), "another index");
        assert!(decode(&Cursor("not a cursor!".into()), None, "a").is_err());
        assert!(decode(&Cursor(URL_SAFE_NO_PAD.encode(b"[1]")), None, "a").is_err());
        assert!(decode(&encode(&pos(&[("pk", "a"), ("sk", "b")])), None, "a").is_ok());
    }
}
