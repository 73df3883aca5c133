//! Validation finds exactly the problems the messy writer injected, and
//! accepts every awkward-but-valid form around them.

use polars::prelude::*;
use safeflag_ingest::{IngestOptions, ingest};
use safeflag_synth::{messy::MESSY_ROWS, messy_csv};

#[test]
fn messy_file_quarantines_exactly_the_injected_rows() {
    let (bytes, injected) = messy_csv(7);
    assert!(bytes.starts_with("\u{feff}".as_bytes()));
    assert!(bytes.windows(2).any(|w| w == b"\r\n"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messy.csv");
    std::fs::write(&path, &bytes).unwrap();

    let v = ingest(&path, &IngestOptions::default()).unwrap();
    let r = &v.report;
    assert_eq!(r.rows_read, MESSY_ROWS);
    let q = &r.quarantine;
    let rows = q
        .column("source_row")
        .unwrap()
        .cast(&DataType::UInt64)
        .unwrap();
    let got: Vec<(usize, String, String)> = (0..q.height())
        .map(|i| {
            (
                rows.u64().unwrap().get(i).unwrap() as usize,
                q.column("column")
                    .unwrap()
                    .str()
                    .unwrap()
                    .get(i)
                    .unwrap()
                    .to_string(),
                q.column("rule")
                    .unwrap()
                    .str()
                    .unwrap()
                    .get(i)
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    let mut want: Vec<(usize, String, String)> = injected
        .iter()
        .map(|p| (p.row, p.column.to_string(), p.rule.as_str().to_string()))
        .collect();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    want.sort();
    assert_eq!(got_sorted, want);

    let distinct_rows: std::collections::BTreeSet<_> = injected.iter().map(|p| p.row).collect();
    assert_eq!(r.rows_quarantined, distinct_rows.len());
    assert_eq!(r.rows_valid + r.rows_quarantined, r.rows_read);
    assert_eq!(r.extra_columns, vec!["agency_note".to_string()]);
    // Every rule a snapshot row can break is broken at least once.
    for &rule in safeflag_core::contract::Rule::SNAPSHOT {
        assert!(
            injected.iter().any(|p| p.rule == rule),
            "{rule} not injected"
        );
    }
}
