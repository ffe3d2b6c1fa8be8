//! Byte encodings: order-preserving keys and compact item values.
//!
//! Keys are tuples of strings, each escaped (`0x00` becomes `0x00 0xFF`) and
//! terminated by `0x00 0x01`. Comparing two encoded tuples byte by byte gives
//! the same order as comparing the strings one after another by their bytes,
//! which is DynamoDB's sort-key order, so queries become range scans.

use ibrat_ports::store::schema::{IndexDef, TABLE};
use ibrat_ports::{Item, Key, StoreError, Value};

/// DynamoDB's largest item; local mode refuses what production would.
pub(crate) const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB's longest partition key value, in bytes.
const MAX_PK_BYTES: usize = 2048;
/// DynamoDB's longest sort key value, in bytes.
const MAX_SK_BYTES: usize = 1024;

/// Appends one escaped, terminated string.
pub(crate) fn push_str(buf: &mut Vec<u8>, s: &str) {
    push_escaped(buf, s.as_bytes());
    buf.extend_from_slice(&[0x00, 0x01]);
}

/// Appends a string's bytes escaped but not terminated: every encoded string
/// that starts with `s` starts with these bytes.
pub(crate) fn push_escaped(buf: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        if b == 0 {
            buf.extend_from_slice(&[0x00, 0xFF]);
        } else {
            buf.push(b);
        }
    }
}

/// The base-table key of an item.
pub(crate) fn base_key(key: &Key) -> Vec<u8> {
    let mut buf = Vec::with_capacity(key.pk.len() + key.sk.len() + 4);
    push_str(&mut buf, &key.pk);
    push_str(&mut buf, &key.sk);
    buf
}

/// The encoded partition prefix shared by every key of one partition.
pub(crate) fn partition_prefix(pk: &str) -> Vec<u8> {
    let mut buf = Vec::with_capacity(pk.len() + 2);
    push_str(&mut buf, pk);
    buf
}

/// An index entry's key: index keys first (so a partition is one range),
/// then the base key (so entries with equal index keys stay distinct).
pub(crate) fn index_key(gpk: &str, gsk: &str, base: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(gpk.len() + gsk.len() + base.len() + 4);
    push_str(&mut buf, gpk);
    push_str(&mut buf, gsk);
    buf.extend_from_slice(base);
    buf
}

/// The position just after the encoded string starting at `pos`.
fn skip_str(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        match bytes.get(pos)? {
            0x00 => match bytes.get(pos + 1)? {
                0x01 => return Some(pos + 2),
                0xFF => pos += 2,
                _ => return None,
            },
            _ => pos += 1,
        }
    }
}

/// The base key at the end of an index entry's key.
pub(crate) fn base_key_of_index_entry(entry: &[u8]) -> Result<&[u8], StoreError> {
    skip_str(entry, 0)
        .and_then(|p| skip_str(entry, p))
        .and_then(|p| entry.get(p..))
        .filter(|rest| !rest.is_empty())
        .ok_or_else(|| StoreError::Corrupt("malformed index entry key".into()))
}

/// Serializes an item; refuses items larger than DynamoDB accepts.
pub(crate) fn encode_item(item: &Item) -> Result<Vec<u8>, StoreError> {
    let bytes = postcard::to_stdvec(item).map_err(|e| StoreError::Invalid(format!("item cannot be encoded: {e}")))?;
    if bytes.len() > MAX_ITEM_BYTES {
        return Err(StoreError::Invalid(format!("item of {} bytes exceeds {MAX_ITEM_BYTES}", bytes.len())));
    }
    Ok(bytes)
}

/// Deserializes a stored item.
pub(crate) fn decode_item(bytes: &[u8]) -> Result<Item, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt(format!("stored item cannot be decoded: {e}")))
}

/// Refuses keys DynamoDB would refuse (empty or too long).
pub(crate) fn validate_key(key: &Key) -> Result<(), StoreError> {
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(StoreError::Invalid("key attributes must be non-empty strings".into()));
    }
    if key.pk.len() > MAX_PK_BYTES || key.sk.len() > MAX_SK_BYTES {
        return Err(StoreError::Invalid("key attribute too long".into()));
    }
    Ok(())
}

/// The item's key, after checking its key and index-key attributes are
/// acceptable to DynamoDB.
pub(crate) fn validate_item(item: &Item) -> Result<Key, StoreError> {
    let key = item
        .key()
        .ok_or_else(|| StoreError::Invalid(format!("item needs string `{}` and `{}`", TABLE.pk, TABLE.sk)))?;
    validate_key(&key)?;
    for index in TABLE.indexes {
        for attr in [index.pk, index.sk] {
            match item.get(attr) {
                None => {}
                Some(Value::S(s)) if !s.is_empty() && s.len() <= MAX_SK_BYTES => {}
                Some(_) => {
                    return Err(StoreError::Invalid(format!(
                        "index key attribute `{attr}` must be a non-empty string of at most {MAX_SK_BYTES} bytes"
                    )))
                }
            }
        }
    }
    Ok(key)
}

/// The item's entry key in one index, when it carries both index keys.
pub(crate) fn index_entry(index: &IndexDef, item: &Item, base: &[u8]) -> Option<Vec<u8>> {
    Some(index_key(item.s(index.pk)?, item.s(index.sk)?, base))
}

/// The smallest byte string greater than every string starting with
/// `prefix`, or None when there is none.
pub(crate) fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < 0xFF {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(parts: &[&str]) -> Vec<u8> {
        let mut buf = Vec::new();
        for p in parts {
            push_str(&mut buf, p);
        }
        buf
    }

    #[test]
    fn tuple_encoding_preserves_order() {
        let strings = ["", "\0", "\0\0", "\0a", "a", "a\0", "a\0b", "ab", "b", "é", "\u{10FFFF}"];
        for a in strings {
            for b in strings {
                for tail in ["", "z"] {
                    let want = (a.as_bytes(), tail.as_bytes()).cmp(&(b.as_bytes(), tail.as_bytes()));
                    assert_eq!(enc(&[a, tail]).cmp(&enc(&[b, tail])), want, "{a:?} vs {b:?}");
                }
            }
        }
    }

    #[test]
    fn index_entries_give_back_their_base_key() {
        let base = base_key(&Key::new("LEAD#\0x", "LEAD"));
        let entry = index_key("QUEUE#1", "0\0#1", &base);
        assert_eq!(base_key_of_index_entry(&entry).ok(), Some(base.as_slice()));
        assert!(base_key_of_index_entry(b"abc").is_err());
        assert!(base_key_of_index_entry(&enc(&["a", "b"])).is_err());
    }

    #[test]
    fn successor_skips_saturated_bytes() {
        assert_eq!(prefix_successor(&[1, 0xFF, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF]), None);
        assert_eq!(prefix_successor(&[]), None);
    }

    #[test]
    fn items_round_trip_and_garbage_is_corrupt() {
        let item = Item::new().with("pk", "a").with("sk", "b").with("n", -5i64).with("l", vec![Value::Null]);
        let bytes = encode_item(&item).expect("encode");
        assert_eq!(decode_item(&bytes).expect("decode"), item);
        assert!(matches!(decode_item(&[0xFF, 0xFF, 0xFF]), Err(StoreError::Corrupt(_))));
    }
}
