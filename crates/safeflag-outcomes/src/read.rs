//! Outcomes in: from an outcomes file, or from an extract's tables.
//!
//! A file is read by ingest against the outcomes contract, so it gets every
//! rule a snapshot gets (types, codes, missing values, `occurred_on` not
//! after `recorded_on`); any problem refuses the whole file, naming the
//! first bad row and column, because half a file of outcomes would make the
//! missing half look like quiet nights. The day the file is complete through
//! is given, or taken as its latest recording date; nothing in the file may
//! be recorded after it.

use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::*;
use safeflag_core::contract::Rule;
use safeflag_core::outcome_contract::{DEFAULT_KIND, OUTCOMES};
use safeflag_history::OutcomeRecord;
use safeflag_ingest::{IngestOptions, SOURCE_ROW};

use crate::{Error, Result};

/// Outcomes read and checked, ready to record.
#[derive(Debug, Clone)]
pub struct OutcomesRead {
    /// One per row (or per extract event), in input order.
    pub outcomes: Vec<OutcomeRecord>,
    /// The day the source is complete through.
    pub known_through: NaiveDate,
    /// The sha256 of the source (of its tables' files, for an extract).
    pub sha256: String,
}

/// Days since 1970-01-01 to a date.
fn date(days: i32) -> NaiveDate {
    safeflag_core::days::from_days(days.into()).expect("an i32 day number is a date")
}

/// A date column's values.
fn dates(df: &DataFrame, column: &str) -> Result<Vec<Option<NaiveDate>>> {
    let c = df.column(column)?.cast(&DataType::Int32)?;
    Ok(c.i32()?.iter().map(|d| d.map(date)).collect())
}

/// A text column's values.
fn texts(df: &DataFrame, column: &str) -> Result<Vec<Option<String>>> {
    let c = df.column(column)?.cast(&DataType::String)?;
    Ok(c.str()?.iter().map(|v| v.map(str::to_string)).collect())
}

/// The sha256 of a file read moments ago.
fn sha256(path: &Path) -> Result<String> {
    safeflag_core::output::sha256_file(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads and checks an outcomes file (CSV, Parquet or Arrow IPC).
pub fn read_file(path: &Path, known_through: Option<NaiveDate>) -> Result<OutcomesRead> {
    let opts = IngestOptions::default()
        .with_table(&OUTCOMES)
        .with_allow_empty(true);
    let v = safeflag_ingest::ingest(path, &opts)?;
    let q = &v.report.quarantine;
    if q.height() > 0 {
        let rows = q.column(SOURCE_ROW)?.cast(&DataType::UInt64)?;
        let text = |c: &str| -> Result<String> {
            Ok(q.column(c)?.str()?.get(0).unwrap_or_default().to_string())
        };
        return Err(Error::Invalid {
            path: path.to_path_buf(),
            row: rows.u64()?.get(0).unwrap_or(0),
            column: text("column")?,
            rule: text("rule")?,
            problems: q.height(),
        });
    }
    let df = &v.cases;
    let (children, kinds, severities) = (
        texts(df, "child_id")?,
        texts(df, "kind")?,
        texts(df, "severity")?,
    );
    let (occurred, recorded) = (dates(df, "occurred_on")?, dates(df, "recorded_on")?);
    let rows = df.column(SOURCE_ROW)?.cast(&DataType::UInt64)?;
    let rows = rows.u64()?;
    let latest = recorded.iter().flatten().max().copied();
    let known_through = match (known_through, latest) {
        (Some(k), _) => k,
        (None, Some(l)) => l,
        (None, None) => {
            return Err(Error::Invalid {
                path: path.to_path_buf(),
                row: 0,
                column: "recorded_on".into(),
                rule: "an empty file needs --known-through".into(),
                problems: 1,
            });
        }
    };
    let mut outcomes = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let row = rows.get(i).unwrap_or(0);
        let (Some(child), Some(on), Some(rec)) = (&children[i], occurred[i], recorded[i]) else {
            // Validation quarantines a missing required value; never reached.
            return Err(Error::Invalid {
                path: path.to_path_buf(),
                row,
                column: "child_id".into(),
                rule: Rule::MissingRequired.as_str().into(),
                problems: 1,
            });
        };
        if rec > known_through {
            return Err(Error::Invalid {
                path: path.to_path_buf(),
                row,
                column: "recorded_on".into(),
                rule: format!(
                    "{} (after the known-through date {known_through})",
                    Rule::RecordedAfterExtract.as_str()
                ),
                problems: 1,
            });
        }
        outcomes.push(OutcomeRecord {
            child_id: child.clone(),
            kind: kinds[i].clone().unwrap_or_else(|| DEFAULT_KIND.to_string()),
            occurred_on: on.to_string(),
            recorded_on: rec.to_string(),
            severity: severities[i].clone(),
        });
    }
    Ok(OutcomesRead {
        outcomes,
        known_through,
        sha256: sha256(path)?,
    })
}

/// Outcomes from a relational extract already read and gated: its
/// incidents, reports (by the day received) and removals, complete through
/// the extract date.
pub fn from_extract(x: &safeflag_extract::Extract) -> Result<OutcomesRead> {
    let mut outcomes = Vec::new();
    for (table, kind, on) in [
        ("incidents", "incident", "occurred_on"),
        ("reports", "report", "received_on"),
        ("removals", "removal", "removed_on"),
    ] {
        let df = x.table(table);
        let children = texts(df, "child_id")?;
        let (occurred, recorded) = (dates(df, on)?, dates(df, "recorded_on")?);
        let severity = if table == "incidents" {
            texts(df, "severity")?
        } else {
            vec![None; df.height()]
        };
        for i in 0..df.height() {
            if let (Some(child), Some(on), Some(rec)) = (&children[i], occurred[i], recorded[i]) {
                outcomes.push(OutcomeRecord {
                    child_id: child.clone(),
                    kind: kind.to_string(),
                    occurred_on: on.to_string(),
                    recorded_on: rec.to_string(),
                    severity: severity[i].clone(),
                });
            }
        }
    }
    let hashes = x
        .reports
        .iter()
        .filter(|r| ["incidents", "reports", "removals"].contains(&r.table))
        .map(|r| sha256(&r.file))
        .collect::<Result<Vec<String>>>()?;
    Ok(OutcomesRead {
        outcomes,
        known_through: x.extracted_on,
        sha256: safeflag_core::output::sha256_bytes(hashes.join("\n").as_bytes()),
    })
}
