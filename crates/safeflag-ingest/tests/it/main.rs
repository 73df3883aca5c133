//! Integration tests of ingest and validation.
//!
//! Modules:
//! * `rules`: one test per contract rule, each breaking it once.
//! * `awkward`: valid-but-awkward inputs that must be accepted.
//! * `errors`: files that cannot be ingested at all, with their messages.
//! * `formats`: Parquet and Arrow IPC inputs, typed and untyped.
//! * `mapping`: agency column and code mappings applied to a file.
//! * `fuzz`: a property test over generated hostile records.

mod awkward;
mod errors;
mod formats;
mod fuzz;
mod mapping;
mod rules;

use std::path::PathBuf;

use polars::prelude::*;
use safeflag_ingest::{IngestOptions, Validated, ingest};

pub const HEADER: &str = "case_id,child_id,snapshot_date,office,supervisor_id,worker_id,case_type,child_birth_date,child_sex,child_race_ethnicity,child_disability,sleep_environment,caregiver_age,parental_mental_health,parental_substance_use,domestic_violence,unrelated_adult_in_home,prior_reports,prior_substantiations,prior_removals,children_in_home,days_since_last_visit";

/// A valid row; `n` makes its child_id unique.
pub fn good_row(n: usize) -> String {
    format!(
        "C{n},K{n},2025-03-01,North,S1,W1,in_home,2024-12-01,F,Black,false,crib_bassinet,24,none,current,true,false,2,1,0,3,12"
    )
}

/// A valid row with one field replaced (by column name).
pub fn row_with(n: usize, column: &str, value: &str) -> String {
    let idx = HEADER
        .split(',')
        .position(|c| c == column)
        .expect("column in header");
    let row = good_row(n);
    let mut fields: Vec<&str> = row.split(',').collect();
    fields[idx] = value;
    fields.join(",")
}

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub path: PathBuf,
}

/// Writes `text` to a temp file named `name`.
pub fn file(name: &str, text: impl AsRef<[u8]>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    Fixture { _dir: dir, path }
}

pub fn csv(rows: &[String]) -> Fixture {
    let mut text = String::from(HEADER);
    text.push('\n');
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    file("cases.csv", text)
}

pub fn validate(f: &Fixture) -> Validated {
    let v = ingest(&f.path, &IngestOptions::default()).unwrap();
    let r = &v.report;
    assert_eq!(
        r.rows_read,
        r.rows_valid + r.rows_quarantined,
        "counts reconcile"
    );
    assert_eq!(v.cases.height(), r.rows_valid);
    v
}

/// The quarantine as `(row, column, rule)` triples.
pub fn problems(v: &Validated) -> Vec<(u64, String, String)> {
    let q = &v.report.quarantine;
    let rows = q
        .column("source_row")
        .unwrap()
        .cast(&DataType::UInt64)
        .unwrap();
    let rows = rows.u64().unwrap();
    let cols = q.column("column").unwrap().str().unwrap().clone();
    let rules = q.column("rule").unwrap().str().unwrap().clone();
    (0..q.height())
        .map(|i| {
            (
                rows.get(i).unwrap(),
                cols.get(i).unwrap().to_string(),
                rules.get(i).unwrap().to_string(),
            )
        })
        .collect()
}

pub fn p(row: u64, column: &str, rule: &str) -> (u64, String, String) {
    (row, column.to_string(), rule.to_string())
}
