//! Inputs that cannot be read: one line on stderr, exit 1, no panic, no backtrace.

use crate::*;

fn fails_cleanly(dir: &std::path::Path, args: &[&str]) -> String {
    let out = safeflag(dir, args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "no report on failure");
    err.trim_end().replace(&*dir.to_string_lossy(), "[TMP]")
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        fails_cleanly(dir.path(), &["validate", "nope.csv"]),
        "error: `nope.csv` does not exist"
    );
}

#[test]
fn unknown_format() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cases.xlsx"), "x").unwrap();
    assert_eq!(
        fails_cleanly(dir.path(), &["validate", "cases.xlsx"]),
        "error: `cases.xlsx` has an unknown format (extension `xlsx`); expected `.csv`, `.parquet` or `.arrow` (`.ipc`, `.feather`)"
    );
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cases.csv"), "").unwrap();
    assert_eq!(
        fails_cleanly(dir.path(), &["validate", "cases.csv"]),
        "error: `cases.csv` is empty"
    );
}

#[test]
fn missing_required_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(sample("snapshot.csv")).unwrap();
    // Drop the `office` column (4th) from every line.
    let cut: String = text
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(3);
            f.join(",") + "\n"
        })
        .collect();
    std::fs::write(dir.path().join("cases.csv"), cut).unwrap();
    assert_eq!(
        fails_cleanly(dir.path(), &["validate", "cases.csv"]),
        "error: `cases.csv` lacks required column `office`"
    );
}

/// Validates the sample snapshot with `m.toml` holding `mapping` (no file
/// when `None`) and returns the one-line error.
fn mapping_error(mapping: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    if let Some(text) = mapping {
        std::fs::write(dir.path().join("m.toml"), text).unwrap();
    }
    let snapshot = sample("snapshot.csv");
    fails_cleanly(
        dir.path(),
        &[
            "validate",
            snapshot.to_str().unwrap(),
            "--mapping",
            "m.toml",
        ],
    )
}

#[test]
fn mapping_naming_a_column_that_does_not_exist() {
    let err = mapping_error(Some("[columns]\nCASE_NUM = \"case_id\"\n"));
    assert!(
        err.starts_with("error: mapping `m.toml`: maps column `CASE_NUM`, which is not in `"),
        "{err}"
    );
}

#[test]
fn mapping_naming_a_code_that_does_not_exist() {
    let err = mapping_error(Some("[codes.sleep_environment]\nCRIB = \"cot\"\n"));
    assert!(
        err.starts_with("error: mapping `m.toml`: `codes.sleep_environment` maps `CRIB` to `cot`, which is not a code of `sleep_environment`"),
        "{err}"
    );
}

#[test]
fn mapping_naming_a_canonical_column_that_does_not_exist() {
    assert_eq!(
        mapping_error(Some("[columns]\noffice = \"area\"\n")),
        "error: mapping `m.toml`: column `office` is mapped to `area`, which is not a contract column"
    );
}

#[test]
fn missing_mapping_file() {
    assert_eq!(mapping_error(None), "error: `m.toml` does not exist");
}

#[test]
fn bad_gate_fraction_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = safeflag(dir.path(), &["validate", "x.csv", "--max-quarantine", "5"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "usage errors are user errors, not internal ones"
    );
    assert!(
        stderr(&out).contains("`5` is not between 0 and 1"),
        "{}",
        stderr(&out)
    );
}
