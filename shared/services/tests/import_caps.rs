//! The reader's bounds on a whole import: an unclosed quote in a big file
//! stops reading at the line it starts on (named in the import's failure
//! and in its line-numbered report) and loses none of the rows before it;
//! an over-long cell refuses its row only.

use ibrat_domain::{ImportId, LeadId, Phone, Region};
use ibrat_services::import::{self, csv_stream, ImportError, ImportStatus, RejectKind};
use ibrat_services::repo::{import_errors, imports, leads};
use ibrat_testkit::TestDeps;

async fn is_lead(kit: &TestDeps, number: &str) -> bool {
    let phone = Phone::parse(number, Region::default()).unwrap();
    leads::get(kit.store.as_ref(), &LeadId::for_phone(&phone)).await.unwrap().is_some()
}

#[tokio::test]
async fn an_unclosed_quote_in_a_big_file_fails_at_its_line_and_keeps_the_rows_before() {
    let kit = TestDeps::new();
    let good = 30_000u64;
    let mut csv = String::from("name,phone\n");
    for i in 0..good {
        csv.push_str(&format!("Lead {i},+99890{:07}\n", 1_000_000 + i));
    }
    let open_line = good + 2;
    csv.push_str("\"Never closed,+998911111111\n");
    // More than the record bound after the open quote.
    while (csv.len() as u64) < good * 30 + 2 * csv_stream::MAX_RECORD_BYTES {
        csv.push_str("Later,+998912222222\n");
    }
    let id = ImportId::new();
    let err = import::run(&kit.deps, &id, "big.csv", None, std::io::Cursor::new(csv.into_bytes())).await.unwrap_err();
    match err {
        ImportError::Refused { error: import::FileError::RecordTooLong { line, max_bytes }, .. } => {
            assert_eq!((line, max_bytes), (open_line, csv_stream::MAX_RECORD_BYTES));
        }
        other => panic!("expected a record too long, got {other:?}"),
    }
    let rec = imports::get(kit.store.as_ref(), &id).await.unwrap().unwrap();
    assert_eq!(rec.status, ImportStatus::Failed);
    let failure = rec.failure.unwrap();
    assert_eq!(failure.code, "record_too_long");
    assert!(failure.message.contains(&format!("line {open_line}")), "{}", failure.message);
    // Nothing accepted before the open quote is lost.
    assert_eq!((rec.counts.imported, rec.counts.invalid, rec.counts.rows), (good, 1, good + 1));
    assert!(is_lead(&kit, "+998901000000").await && is_lead(&kit, &format!("+99890{:07}", 1_000_000 + good - 1)).await);
    assert!(!is_lead(&kit, "+998911111111").await && !is_lead(&kit, "+998912222222").await);
    // The report names the line.
    let (errors, _) = import_errors::page(kit.store.as_ref(), &id, 10, None).await.unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].line, &errors[0].kind), (open_line, &RejectKind::Invalid));
    assert!(errors[0].reason.contains("quote"), "{:?}", errors[0]);
}

#[tokio::test]
async fn an_over_long_cell_refuses_its_row_only() {
    let kit = TestDeps::new();
    let huge = "y".repeat(csv_stream::MAX_FIELD_BYTES + 1);
    let csv = format!("phone,comment\n901234567,short\n901234568,\"{huge}\"\n901234569,fine\n");
    let id = ImportId::new();
    let s = import::run(&kit.deps, &id, "cells.csv", None, std::io::Cursor::new(csv.into_bytes())).await.unwrap();
    assert_eq!(s.record.status, ImportStatus::Completed);
    assert_eq!((s.record.counts.imported, s.record.counts.invalid), (2, 1));
    assert_eq!(s.errors.len(), 1);
    let e = &s.errors[0];
    assert_eq!((e.line, e.column.as_str()), (3, "comment"));
    // Refused by the reader's bound (bytes), not by the notes rule (characters).
    assert!(e.reason.contains(&format!("{} bytes", csv_stream::MAX_FIELD_BYTES)), "{e:?}");
    assert!(is_lead(&kit, "+998901234569").await && !is_lead(&kit, "+998901234568").await);
}
