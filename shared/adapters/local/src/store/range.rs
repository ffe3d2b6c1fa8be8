//! Turning a query (partition, sort-key condition, cursor) into one key
//! range, and cursors to and from their opaque form.

use std::ops::Bound;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ibrat_ports::{Cursor, SkCondition, StoreError};

use super::codec::{prefix_successor, push_escaped, push_str};

/// A range of encoded keys, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRange {
    pub start: Bound<Vec<u8>>,
    pub end: Bound<Vec<u8>>,
}

impl KeyRange {
    /// The keys of one partition (encoded prefix `p`) whose sort key meets
    /// `cond`. Works for base keys and index entry keys alike, because in
    /// both the sort key's encoding directly follows the partition's.
    pub fn for_query(p: &[u8], cond: &SkCondition) -> KeyRange {
        // Every key with sort key `s` lies in [lo(s), hi(s)).
        let lo = |s: &str| {
            let mut k = p.to_vec();
            push_str(&mut k, s);
            k
        };
        let hi = |s: &str| {
            let mut k = lo(s);
            if let Some(last) = k.last_mut() {
                *last = 0x02;
            }
            k
        };
        let whole_start = Bound::Included(p.to_vec());
        let whole_end = prefix_successor(p).map_or(Bound::Unbounded, Bound::Excluded);
        let (start, end) = match cond {
            SkCondition::Any => (whole_start, whole_end),
            SkCondition::Eq(s) => (Bound::Included(lo(s)), Bound::Excluded(hi(s))),
            SkCondition::BeginsWith(prefix) => {
                let mut k = p.to_vec();
                push_escaped(&mut k, prefix.as_bytes());
                let end = prefix_successor(&k).map_or(whole_end, Bound::Excluded);
                (Bound::Included(k), end)
            }
            SkCondition::Between(a, b) => (Bound::Included(lo(a)), Bound::Excluded(hi(b))),
            SkCondition::Lt(s) => (whole_start, Bound::Excluded(lo(s))),
            SkCondition::Le(s) => (whole_start, Bound::Excluded(hi(s))),
            SkCondition::Gt(s) => (Bound::Included(hi(s)), whole_end),
            SkCondition::Ge(s) => (Bound::Included(lo(s)), whole_end),
        };
        KeyRange { start, end }
    }

    /// Narrows the range to what follows `after` in the direction of travel.
    pub fn continue_after(&mut self, after: Vec<u8>, forward: bool) {
        if forward {
            let tighter = match &self.start {
                Bound::Included(s) => after >= *s,
                Bound::Excluded(s) => after >= *s,
                Bound::Unbounded => true,
            };
            if tighter {
                self.start = Bound::Excluded(after);
            }
        } else {
            let tighter = match &self.end {
                Bound::Included(e) => after <= *e,
                Bound::Excluded(e) => after <= *e,
                Bound::Unbounded => true,
            };
            if tighter {
                self.end = Bound::Excluded(after);
            }
        }
    }

    /// True when no key can lie in the range (redb must not be asked for an
    /// inverted range).
    pub fn is_empty(&self) -> bool {
        match (&self.start, &self.end) {
            (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
            (Bound::Included(s), Bound::Included(e)) => s > e,
            (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e))
            | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
        }
    }

    /// Borrowed bounds, in the shape redb's `range` takes.
    pub fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (self.start.as_ref().map(Vec::as_slice), self.end.as_ref().map(Vec::as_slice))
    }
}

/// The opaque cursor for a position (the last key returned).
pub(crate) fn encode_cursor(key: &[u8]) -> Cursor {
    Cursor(URL_SAFE_NO_PAD.encode(key))
}

/// The position a cursor names; refuses cursors that are not ours or that
/// belong to another partition.
pub(crate) fn decode_cursor(cursor: &Cursor, partition: &[u8]) -> Result<Vec<u8>, StoreError> {
    let key =
        URL_SAFE_NO_PAD.decode(cursor.0.as_bytes()).map_err(|_| StoreError::Invalid("malformed cursor".into()))?;
    if !key.starts_with(partition) {
        return Err(StoreError::Invalid("cursor belongs to another query".into()));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::codec::push_str;

    fn key(pk: &str, sk: &str) -> Vec<u8> {
        let mut k = Vec::new();
        push_str(&mut k, pk);
        push_str(&mut k, sk);
        k
    }

    fn contains(r: &KeyRange, k: &[u8]) -> bool {
        use std::ops::RangeBounds;
        RangeBounds::<&[u8]>::contains(&r.bounds(), &k)
    }

    #[test]
    fn ranges_agree_with_sk_matches() {
        let sks = ["a", "b", "b#1", "b#2", "b\0", "ba", "c", "é", "\0"];
        let conds = [
            SkCondition::Any,
            SkCondition::Eq("b".into()),
            SkCondition::BeginsWith("b".into()),
            SkCondition::BeginsWith("".into()),
            SkCondition::BeginsWith("b\0".into()),
            SkCondition::Between("b".into(), "b#2".into()),
            SkCondition::Between("c".into(), "a".into()),
            SkCondition::Lt("b#1".into()),
            SkCondition::Le("b#1".into()),
            SkCondition::Gt("b".into()),
            SkCondition::Ge("b".into()),
        ];
        let p = {
            let mut p = Vec::new();
            push_str(&mut p, "P");
            p
        };
        for cond in &conds {
            let r = KeyRange::for_query(&p, cond);
            for sk in sks {
                let want = cond.matches(sk);
                assert_eq!(!r.is_empty() && contains(&r, &key("P", sk)), want, "{cond:?} on {sk:?}");
                // Index entries carry the base key after the sort key.
                let mut entry = key("P", sk);
                push_str(&mut entry, "x");
                assert_eq!(!r.is_empty() && contains(&r, &entry), want, "index {cond:?} on {sk:?}");
            }
            for other in ["", "P\0", "PP", "O"] {
                assert!(!contains(&r, &key(other, "b")), "{cond:?} leaks partition {other:?}");
            }
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let k = key("P", "b");
        let c = encode_cursor(&k);
        assert_eq!(decode_cursor(&c, &k[..3]).ok(), Some(k.clone()));
        assert!(decode_cursor(&Cursor("!!".into()), b"").is_err());
        assert!(decode_cursor(&c, b"Q").is_err());
    }
}
