//! CSV import over the embedded store: messy files, refusals, limits,
//! duplicates and do-not-call numbers, re-runs, and the property that no
//! file ever makes two leads of one phone.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use ibrat_domain::{EventKind, ImportId, LeadId, LeadStatus, Phone, Priority, Region};
use ibrat_ports::store::schema::GSI2;
use ibrat_ports::Queue;
use ibrat_services::import::{self, FileError, ImportError, ImportStatus, RejectKind};
use ibrat_services::repo::imports;
use ibrat_services::repo::{keys, leads as lead_repo};
use ibrat_testkit::TestDeps as H;
use proptest::prelude::*;

fn harness() -> H {
    H::new()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/import/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn import_bytes(h: &H, id: &ImportId, bytes: Vec<u8>) -> Result<import::ImportSummary, ImportError> {
    import::run(&h.deps, id, "leads.csv", None, std::io::Cursor::new(bytes)).await
}

fn phone(s: &str) -> Phone {
    Phone::parse(s, Region::default()).unwrap()
}

async fn lead(h: &H, p: &str) -> Option<ibrat_domain::Lead> {
    lead_repo::get(h.deps.store.as_ref(), &LeadId::for_phone(&phone(p))).await.unwrap()
}

#[tokio::test]
async fn a_messy_file_imports_its_good_rows_and_reports_the_rest() {
    let h = harness();
    let id = ImportId::new();
    let s = import_bytes(&h, &id, fixture("messy.csv")).await.unwrap();
    let c = s.record.counts;
    assert_eq!(s.record.status, ImportStatus::Completed);
    assert_eq!((c.rows, c.imported, c.duplicates, c.invalid, c.do_not_call), (8, 4, 1, 3, 0), "{s:#?}");
    let by_line: Vec<(u64, RejectKind, &str)> =
        s.errors.iter().map(|e| (e.line, e.kind.clone(), e.column.as_str())).collect();
    assert_eq!(
        by_line,
        vec![
            (5, RejectKind::Duplicate, "Phone Number"),
            (6, RejectKind::Invalid, "Phone Number"),
            (7, RejectKind::Invalid, "E-mail"),
            (8, RejectKind::Invalid, "Priority"),
        ]
    );
    assert!(s.errors[0].reason.contains("line 2"), "{:?}", s.errors[0]);

    let bobur = lead(&h, "+998901234567").await.unwrap();
    assert_eq!(
        (bobur.name.as_str(), bobur.priority, bobur.status),
        ("Bobur Karimov", Priority::Urgent, LeadStatus::Queued)
    );
    assert_eq!(bobur.timezone.as_deref(), Some("Asia/Tashkent"));
    assert_eq!(bobur.custom.get("City").map(String::as_str), Some("Tashkent"));
    assert_eq!((bobur.import_id.as_ref(), bobur.import_line), (Some(&id), Some(2)));
    let item = h.deps.store.get(&keys::lead(&bobur.id)).await.unwrap().unwrap();
    assert!(item.s(GSI2.pk).is_some(), "imported leads sit in the dial queue");
    let us = lead(&h, "+14155552671").await.unwrap();
    assert_eq!((us.status, us.timezone), (LeadStatus::Pending, None));
    assert_eq!(lead(&h, "+998945556677").await.unwrap().name, "Short row");

    let bodies: Vec<String> = h
        .queue
        .receive(10, Duration::ZERO, Duration::from_secs(30))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert!(bodies.iter().any(|b| b.contains("nudge")), "{bodies:?}");
    let events = h.events.all();
    assert!(events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::ImportCompleted { imported: 4, status, .. } if status == "completed")));
}

#[tokio::test]
async fn bom_semicolons_crlf_and_quoted_newlines_are_read_right() {
    let h = harness();
    let s = import_bytes(&h, &ImportId::new(), fixture("bom_semicolon.csv")).await.unwrap();
    assert_eq!((s.record.counts.rows, s.record.counts.imported), (3, 3), "{s:#?}");
    let d = lead(&h, "+998907654321").await.unwrap();
    assert_eq!(d.name, "Dilnoza Yusupova");
    assert_eq!(d.notes, "likes \"premium\"; call after 5pm");
    let j = lead(&h, "+998971112233").await.unwrap();
    assert_eq!(j.notes, "line one\r\nline two");
    assert_eq!(j.timezone.as_deref(), Some("Asia/Samarkand"));
    let k = lead(&h, "+998991234567").await.unwrap();
    assert_eq!((k.name.as_str(), k.import_line), ("Kamola", Some(5)), "lines count the quoted line break");
}

#[tokio::test]
async fn tab_separated_files_work() {
    let h = harness();
    let s = import_bytes(&h, &ImportId::new(), fixture("tabs.tsv")).await.unwrap();
    assert_eq!(s.record.counts.imported, 2);
    assert_eq!(lead(&h, "+998901111111").await.unwrap().notes, "x, y; z");
    assert_eq!(lead(&h, "+998902222222").await.unwrap().notes, "quoted\ttab");
}

async fn refused(h: &H, bytes: Vec<u8>) -> (ImportId, FileError) {
    let id = ImportId::new();
    match import_bytes(h, &id, bytes).await {
        Err(ImportError::Refused { import_id, error }) => {
            assert_eq!(import_id, id);
            let rec = imports::get(h.deps.store.as_ref(), &id).await.unwrap().unwrap();
            assert_eq!(rec.status, ImportStatus::Failed);
            assert_eq!(rec.failure.as_ref().map(|f| f.code.as_str()), Some(error.code()));
            (id, error)
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn files_without_a_phone_column_or_in_other_encodings_are_refused() {
    let h = harness();
    let (_, e) = refused(&h, fixture("no_phone.csv")).await;
    assert!(e.to_string().contains("Name, Email, Company"), "{e}");
    let (_, e) = refused(&h, fixture("cp1251.csv")).await;
    assert!(matches!(e, FileError::Encoding(ref m) if m.contains("not UTF-8")), "{e}");
    let (_, e) = refused(&h, fixture("utf16.csv")).await;
    assert!(matches!(e, FileError::Encoding(ref m) if m.contains("UTF-16")), "{e}");
    let (_, e) = refused(&h, Vec::new()).await;
    assert_eq!(e, FileError::Empty);
    assert!(lead(&h, "+998901234567").await.is_none());
}

#[tokio::test]
async fn existing_leads_are_duplicates_and_listed_numbers_are_not_queued() {
    let h = harness();
    import_bytes(&h, &ImportId::new(), b"phone\n901234567\n".to_vec()).await.unwrap();
    let dnc = ibrat_services::repo::dnc::to_item(&phone("+998935550000"), Some("asked"), h.now());
    h.deps.store.put(dnc, None).await.unwrap();
    let s = import_bytes(&h, &ImportId::new(), b"phone,name\n+998901234567,Again\n935550000,Listed\n".to_vec())
        .await
        .unwrap();
    let c = s.record.counts;
    assert_eq!((c.rows, c.imported, c.duplicates, c.do_not_call), (2, 0, 1, 1));
    assert!(s.errors[0].reason.contains("already exists"));
    assert_eq!(s.errors[1].kind, RejectKind::DoNotCall);
    let listed = lead(&h, "+998935550000").await.unwrap();
    assert_eq!(listed.status, LeadStatus::DoNotCall);
    let item = h.deps.store.get(&keys::lead(&listed.id)).await.unwrap().unwrap();
    assert!(item.get(GSI2.pk).is_none());
}

#[tokio::test]
async fn a_finished_import_run_again_changes_nothing() {
    let h = harness();
    let id = ImportId::new();
    let first = import_bytes(&h, &id, fixture("messy.csv")).await.unwrap();
    let again = import_bytes(&h, &id, fixture("messy.csv")).await.unwrap();
    assert_eq!(first, again);
}

#[tokio::test]
async fn a_run_that_died_before_its_checkpoint_counts_its_own_leads_as_imported() {
    let h = harness();
    let id = ImportId::new();
    let clean = import_bytes(&h, &id, fixture("messy.csv")).await.unwrap();
    // Pretend the run wrote every batch and died before saving anything.
    let store = h.deps.store.as_ref();
    let mut rec = imports::get(store, &id).await.unwrap().unwrap();
    rec.status = ImportStatus::Running;
    rec.counts = Default::default();
    rec.checkpoint = 0;
    assert!(imports::save(store, &mut rec).await.unwrap());
    let rerun = import_bytes(&h, &id, fixture("messy.csv")).await.unwrap();
    assert_eq!(rerun.record.counts, clean.record.counts);
    assert_eq!(rerun.errors, clean.errors);
}

async fn errors_download(h: &H, id: &ImportId) -> String {
    let mut out = Vec::new();
    let mut s = import::errors_csv::stream(h.deps.store.clone(), id.clone());
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    String::from_utf8(out).unwrap()
}

fn numbered_csv(rows: u64, repeat_every: u64) -> Vec<u8> {
    let mut csv = String::from("phone\n");
    for i in 0..rows {
        let n = if i % repeat_every == 0 && i > 0 { i - 1 } else { i };
        csv.push_str(&format!("+9989{:08}\n", 10_000_000 + n));
    }
    csv.into_bytes()
}

#[tokio::test]
async fn a_source_failure_writes_no_lead_and_a_rerun_imports_everything() {
    let h = harness();
    let id = ImportId::new();
    let bytes = numbered_csv(20_000, u64::MAX);
    let half = bytes.len() / 2;
    let chunks: Vec<Result<Bytes, import::SourceError>> = vec![
        Ok(Bytes::copy_from_slice(&bytes[..half])),
        Err(import::SourceError::Unavailable("connection reset".into())),
    ];
    let err = import::run_stream(&h.deps, &id, "x.csv", None, futures::stream::iter(chunks).boxed()).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    let rec = imports::get(h.deps.store.as_ref(), &id).await.unwrap().unwrap();
    assert_eq!((rec.status, rec.checkpoint, rec.counts.imported), (ImportStatus::Running, 0, 0), "{rec:?}");
    assert!(lead(&h, "+998910000000").await.is_none(), "leads are written only once the file is read");
    let done = import_bytes(&h, &id, bytes).await.unwrap();
    assert_eq!((done.record.counts.rows, done.record.counts.imported), (20_000, 20_000));
}

#[tokio::test]
async fn a_run_that_dies_while_writing_resumes_after_its_checkpoint_with_exact_counts() {
    // More rows than staging keeps in memory, so they spill and come back
    // in many batches; every seventh row repeats the one before it.
    let rows = import::staging::IN_MEMORY_ROWS as u64 + 20_000;
    let bytes = numbered_csv(rows, 7);
    let clean_h = harness();
    let clean_id = ImportId::new();
    let clean = import_bytes(&clean_h, &clean_id, bytes.clone()).await.unwrap();
    assert_eq!(clean.record.counts.duplicates, (rows - 1) / 7);

    let h = H::builder().failing_store().build();
    let failing = h.failing.as_ref().unwrap();
    failing.fail_put_many_after(60);
    let id = ImportId::new();
    let err = import::run(&h.deps, &id, "leads.csv", None, std::io::Cursor::new(bytes.clone())).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    let rec = imports::get(h.deps.store.as_ref(), &id).await.unwrap().unwrap();
    assert_eq!(rec.status, ImportStatus::Running);
    assert!(rec.checkpoint > 0 && rec.checkpoint < 60, "checkpointed part of the way: {rec:?}");
    assert!(rec.counts.imported > 0 && rec.counts.imported < clean.record.counts.imported, "{rec:?}");

    failing.heal();
    let done = import::run(&h.deps, &id, "leads.csv", None, std::io::Cursor::new(bytes)).await.unwrap();
    assert_eq!(done.record.counts, clean.record.counts);
    assert_eq!(done.errors, clean.errors);
    let (all, clean_all) = (errors_download(&h, &id).await, errors_download(&clean_h, &clean_id).await);
    assert_eq!(all.lines().count() as u64, clean.record.counts.duplicates + 1, "every rejected row is kept");
    assert_eq!(all, clean_all);
    assert_eq!(done.record.status, ImportStatus::Completed);
    assert!(
        lead(&h, "+998910000000").await.is_some()
            && lead(&h, &format!("+9989{:08}", 10_000_000 + rows - 1)).await.is_some()
    );
}

#[tokio::test]
async fn the_row_limit_fails_the_import_clearly() {
    let h = H::builder().config(|c| c.import_max_rows = 2).build();
    let (id, e) = refused(&h, b"phone\n901111111\n902222222\n903333333\n".to_vec()).await;
    assert_eq!(e, FileError::TooManyRows { max_rows: 2 });
    let rec = imports::get(h.deps.store.as_ref(), &id).await.unwrap().unwrap();
    assert_eq!((rec.counts.rows, rec.counts.imported), (2, 2));
    assert!(lead(&h, "+998903333333").await.is_none());
}

#[tokio::test]
async fn uploads_are_imported_from_blobs_and_oversized_ones_write_nothing() {
    let h = H::builder().config(|c| c.import_max_bytes = 100).build();
    let id = ImportId::new();
    let key = keys::import_blob(&id);
    h.deps.blobs.put(&key, Bytes::from_static(b"name,phone\nA,901234567\n")).await.unwrap();
    let s = import::run_from_blob(&h.deps, &key).await.unwrap();
    assert_eq!(s.record.counts.imported, 1);
    assert_eq!(s.record.file_name, format!("{id}.csv"));

    let big = ImportId::new();
    let key = keys::import_blob(&big);
    let body = format!("phone\n{}", "901234568\n".repeat(20));
    h.deps.blobs.put(&key, Bytes::from(body)).await.unwrap();
    match import::run_from_blob(&h.deps, &key).await {
        Err(ImportError::Refused { error: FileError::TooLarge { max_bytes: 100 }, .. }) => {}
        other => panic!("expected too large, got {other:?}"),
    }
    assert!(lead(&h, "+998901234568").await.is_none());
    assert!(matches!(import::run_from_blob(&h.deps, "other/x.csv").await, Err(ImportError::Validation(_))));
}

#[tokio::test]
async fn rejected_rows_download_as_csv() {
    let h = harness();
    let id = ImportId::new();
    import_bytes(&h, &id, fixture("messy.csv")).await.unwrap();
    let mut out = Vec::new();
    let mut s = import::errors_csv::stream(h.deps.store.clone(), id);
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "line,kind,column,reason,value");
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[1].starts_with("5,duplicate,Phone Number,"), "{text}");
    assert!(lines[1].ends_with(",'+998901234567"), "phones are escaped: {text}");
}

fn phone_cell() -> impl Strategy<Value = String> {
    let n = 0u32..12;
    (n, 0usize..5).prop_map(|(n, style)| {
        let d = format!("9012300{n:02}");
        match style {
            0 => d.clone(),
            1 => format!("+998{d}"),
            2 => format!("00998{d}"),
            3 => format!("+998 ({}) {}-{}-{}", &d[..2], &d[2..5], &d[5..7], &d[7..]),
            _ => "not a phone".into(),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn no_file_makes_two_leads_of_one_phone_and_reruns_change_nothing(
        cells in proptest::collection::vec(phone_cell(), 0..40),
        blank_every in 2usize..7,
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let h = harness();
            let mut csv = String::from("Name;Phone\r\n");
            for (i, c) in cells.iter().enumerate() {
                if i % blank_every == 0 {
                    csv.push_str("\r\n");
                }
                csv.push_str(&format!("n{i};\"{c}\"\r\n"));
            }
            let unique: std::collections::BTreeSet<String> = cells
                .iter()
                .filter_map(|c| Phone::parse(c, Region::default()).ok())
                .map(|p| p.as_str().to_owned())
                .collect();
            let id = ImportId::new();
            let s = import_bytes(&h, &id, csv.clone().into_bytes()).await.unwrap();
            let c = s.record.counts;
            prop_assert_eq!(c.rows, cells.len() as u64);
            prop_assert_eq!(c.imported, unique.len() as u64);
            prop_assert_eq!(c.rows, c.imported + c.duplicates + c.invalid + c.do_not_call);
            for p in &unique {
                let l = lead(&h, p).await.unwrap();
                prop_assert_eq!(l.import_id.as_ref(), Some(&id));
            }
            // Forget progress, as a crash would, and run again.
            let store = h.deps.store.as_ref();
            let mut rec = imports::get(store, &id).await.unwrap().unwrap();
            rec.status = ImportStatus::Running;
            rec.counts = Default::default();
            rec.checkpoint = 0;
            prop_assert!(imports::save(store, &mut rec).await.unwrap());
            let again = import_bytes(&h, &id, csv.into_bytes()).await.unwrap();
            prop_assert_eq!(again.record.counts, c);
            // A second import of the same file imports nothing new.
            let other = import_bytes(&h, &ImportId::new(), fixture_from(&cells)).await.unwrap();
            prop_assert_eq!(other.record.counts.imported, 0);
            Ok(())
        })?;
    }
}

fn fixture_from(cells: &[String]) -> Vec<u8> {
    let mut csv = String::from("phone\n");
    for c in cells {
        csv.push_str(&format!("\"{c}\"\n"));
    }
    csv.into_bytes()
}
