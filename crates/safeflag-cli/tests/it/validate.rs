//! `safeflag validate` on the shipped samples.

use safeflag_pipeline::reports::ValidationJson;

use crate::*;

#[test]
fn sample_snapshot_is_valid_and_counts_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = sample("snapshot.csv");
    let out = safeflag(
        dir.path(),
        &["validate", snapshot.to_str().unwrap(), "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: ValidationJson = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.kind, "validation");
    assert_eq!(v.rows_read, 10_000);
    assert_eq!(v.rows_valid, 10_000);
    assert_eq!(v.rows_quarantined, 0);
    assert_eq!(v.gate, "pass");
}

#[test]
fn messy_sample_trips_the_gate_and_quarantines_exactly_the_injected_problems() {
    let dir = tempfile::tempdir().unwrap();
    let messy = sample("messy.csv");
    let out = safeflag(
        dir.path(),
        &[
            "validate",
            messy.to_str().unwrap(),
            "--quarantine",
            "q.csv",
            "--json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "gate exit code; stderr: {}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: data-quality gate: 23 of 60 rows quarantined (38.33%, limit 5.00%); worst columns: "), "{err}");

    let v: ValidationJson = serde_json::from_slice(&out.stdout).unwrap();
    let read = v.rows_read;
    assert_eq!(read, 60);
    assert_eq!(read, v.rows_valid + v.rows_quarantined);
    assert_eq!(v.gate, "fail");

    // The quarantine file lists exactly the injected (row, column, rule), and values.
    let q = std::fs::read_to_string(dir.path().join("q.csv")).unwrap();
    let mut got: Vec<String> = q
        .lines()
        .skip(1)
        .map(|l| l.splitn(4, ',').take(3).collect::<Vec<_>>().join(","))
        .collect();
    got.sort();
    let expected = std::fs::read_to_string(sample("messy.expected.csv")).unwrap();
    let mut want: Vec<String> = expected.lines().skip(1).map(str::to_string).collect();
    want.sort();
    assert_eq!(got, want);
    assert!(q.starts_with("row,column,rule,value\n"));
    assert!(
        q.contains(",caregiver_age,not_integer,abc\n"),
        "raw value kept:\n{q}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("q.csv"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "quarantine holds case data: owner-only"
        );
    }
}

#[test]
fn a_looser_gate_passes_and_the_table_names_no_case_data() {
    let dir = tempfile::tempdir().unwrap();
    let messy = sample("messy.csv");
    let out = safeflag(
        dir.path(),
        &[
            "validate",
            messy.to_str().unwrap(),
            "--max-quarantine",
            "0.5",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("rows read         60"), "{table}");
    assert!(
        table.contains("caregiver_age            not_integer"),
        "{table}"
    );
    // The summary is for logs and terminals: no raw values from the rows.
    assert!(!table.contains("abc"), "{table}");
    assert!(!table.contains("C00000"), "{table}");
}

#[test]
fn agency_extract_with_its_mapping_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let extract = sample("agency-extract.csv");
    let mapping = sample("agency-mapping.toml");
    let out = safeflag(
        dir.path(),
        &[
            "validate",
            extract.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: ValidationJson = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.rows_read, 200);
    assert_eq!(v.rows_quarantined, 0);
    // Without the mapping the same file lacks every contract column.
    let out = safeflag(dir.path(), &["validate", extract.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("lacks required columns `case_id`, `child_id`"),
        "{}",
        stderr(&out)
    );
}
