//! The `phonenumber` metadata database indexed for the fast path: regions by
//! their two letters, calling codes by number, each entry's patterns compiled
//! on first use. Reads are `OnceLock` loads: no lock once built.

use super::pattern::Unsure;
use super::rules::Rules;
use super::Region;
use phonenumber::country::Id as CountryId;
use phonenumber::metadata::{Database, Metadata, DATABASE};
use std::collections::HashMap;
use std::sync::OnceLock;

/// One metadata entry of the database.
pub(super) struct Entry {
    meta: &'static Metadata,
    rules: OnceLock<Option<Rules>>,
    /// `meta.id()` as a region; `None` for non-geographic codes (`001`).
    pub(super) region: Option<Region>,
}

impl Entry {
    /// The compiled rules, built on first use; `None` if they cannot be.
    pub(super) fn rules(&self) -> Option<&Rules> {
        self.rules.get_or_init(|| Rules::compile(self.meta)).as_ref()
    }
}

/// How `validator::source_for` picks the metadata for a calling code.
enum Source {
    /// One region or a non-geographic code: that entry, or none when the
    /// crate's lookup finds none (the number is then invalid).
    Single(Option<usize>),
    /// Several regions, tried in the database's order.
    Shared(Vec<usize>),
    /// A shape the fast path does not model.
    Unsupported,
}

/// The indexed database.
pub(super) struct Table {
    entries: Vec<Entry>,
    /// Entry of each two-letter region, at `slot(id)`.
    by_region: Vec<Option<usize>>,
    /// Source of each calling code, at the code.
    by_code: Vec<Option<Source>>,
}

/// The table, built on first use (the patterns stay lazy).
pub(super) fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| Table::build(&DATABASE))
}

/// Index of a two-letter upper-case region id.
fn slot(id: &str) -> Option<usize> {
    match id.as_bytes() {
        &[a @ b'A'..=b'Z', b @ b'A'..=b'Z'] => Some(usize::from(a - b'A') * 26 + usize::from(b - b'A')),
        _ => None,
    }
}

impl Table {
    fn build(db: &'static Database) -> Table {
        // `db.iter()` holds one non-geographic (`001`) entry only: ask by code.
        let codes: Vec<u16> = (0..=u16::MAX).filter(|code| db.by_code(code).is_some()).collect();
        let mut entries = Vec::new();
        for code in &codes {
            for meta in db.by_code(code).unwrap_or_default() {
                let region = meta.id().parse::<CountryId>().ok().map(Region);
                entries.push(Entry { meta, rules: OnceLock::new(), region });
            }
        }
        let index: HashMap<*const Metadata, usize> =
            entries.iter().enumerate().map(|(i, e)| (e.meta as *const Metadata, i)).collect();
        let find = |meta: Option<&Metadata>| meta.and_then(|m| index.get(&(m as *const Metadata)).copied());

        let mut by_region = vec![None; 26 * 26];
        for (i, entry) in entries.iter().enumerate() {
            let id = entry.meta.id();
            if let Some(s) = slot(id) {
                if find(db.by_id(id)) == Some(i) {
                    by_region[s] = Some(i);
                }
            }
        }

        let mut by_code: Vec<Option<Source>> = Vec::new();
        by_code.resize_with(codes.last().map_or(0, |&c| usize::from(c) + 1), || None);
        for &code in &codes {
            let regions = db.region(&code).unwrap_or_default();
            let source = match regions.as_slice() {
                [] => Source::Unsupported,
                ["001"] => match find(db.by_code(&code).and_then(|m| m.first().copied())) {
                    Some(i) => Source::Single(Some(i)),
                    None => Source::Unsupported,
                },
                [one] => match one.parse::<CountryId>() {
                    Err(_) => Source::Single(None),
                    Ok(id) => match db.by_id(id.as_ref()) {
                        None => Source::Single(None),
                        Some(meta) => find(Some(meta)).map_or(Source::Unsupported, |i| Source::Single(Some(i))),
                    },
                },
                many => {
                    let shared: Option<Vec<usize>> =
                        many.iter().map(|r| r.parse::<CountryId>().ok().and_then(|_| find(db.by_id(*r)))).collect();
                    shared.map_or(Source::Unsupported, Source::Shared)
                }
            };
            by_code[usize::from(code)] = Some(source);
        }
        Table { entries, by_region, by_code }
    }

    /// The entry of the region numbers are read in.
    pub(super) fn region(&self, region: Region) -> Option<&Entry> {
        let i = self.by_region[slot(region.as_str())?]?;
        Some(&self.entries[i])
    }

    /// Whether the database knows the calling code (`by_code(..).is_some()`).
    pub(super) fn has_code(&self, code: u16) -> bool {
        matches!(self.by_code.get(usize::from(code)), Some(Some(_)))
    }

    /// `validator::source_for(code, national)`, resolved to its entry:
    /// `None` when no region claims the number.
    pub(super) fn source_for(&self, code: u16, national: &[u8]) -> Result<Option<&Entry>, Unsure> {
        match self.by_code.get(usize::from(code)) {
            None | Some(None) => Ok(None),
            Some(Some(Source::Unsupported)) => Err(Unsure),
            Some(Some(Source::Single(i))) => Ok(i.map(|i| &self.entries[i])),
            Some(Some(Source::Shared(list))) => {
                for &i in list {
                    let entry = &self.entries[i];
                    let rules = entry.rules().ok_or(Unsure)?;
                    let claims = match &rules.leading_digits {
                        Some(leading) => leading.matches_at_start(national)?,
                        None => rules.has_type(national)?,
                    };
                    if claims {
                        return Ok(Some(entry));
                    }
                }
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_compiles_and_every_region_is_indexed() {
        // An entry whose patterns failed to compile would silently fall back.
        let table = table();
        for entry in &table.entries {
            assert!(entry.rules().is_some(), "{}", entry.meta.id());
        }
        assert!(table.entries.len() > 240, "{} entries", table.entries.len());
        assert!(table.by_code.iter().flatten().all(|s| !matches!(s, Source::Unsupported)));
        for id in ["UZ", "US", "GB", "RU", "KZ", "DE", "FR", "IN", "BR", "CN"] {
            let region = Region::parse(id).unwrap();
            assert_eq!(table.region(region).and_then(|e| e.region), Some(region), "{id}");
        }
    }
}
