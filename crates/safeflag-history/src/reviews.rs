//! Reviewer dispositions, imported from CSV all or nothing.
//!
//! Columns: `case_id, review_date, reviewer, outcome, override_reason`
//! (the last may be empty, except for an `override`). Every bad row is
//! reported with its 1-based record number and column; if there is any,
//! nothing is imported, so a half-corrected file can never leave the store
//! with some of its reviews.

use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The review outcomes a file may use (the review loop's dispositions).
pub const OUTCOMES: [&str; 4] = safeflag_review::DISPOSITIONS;

/// The columns a reviews file must have.
pub const COLUMNS: [&str; 5] = [
    "case_id",
    "review_date",
    "reviewer",
    "outcome",
    "override_reason",
];

/// One review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// The case reviewed.
    pub case_id: String,
    /// `YYYY-MM-DD`.
    pub review_date: String,
    /// Who reviewed it.
    pub reviewer: String,
    /// One of [`OUTCOMES`].
    pub outcome: String,
    /// Why the reviewer overrode the flag (required for `override`).
    pub override_reason: Option<String>,
}

/// Reads and checks a reviews file.
pub fn read(path: &Path) -> Result<Vec<Review>> {
    let fail = |details: Vec<String>| Error::Reviews {
        path: path.to_path_buf(),
        problems: details.len(),
        details: details.join("\n"),
    };
    if !path.exists() {
        return Err(Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))?
        .finish()
        .map_err(|e| {
            fail(vec![format!(
                "not a readable CSV file: {}",
                safeflag_core::error::redact_quoted(&e.to_string())
            )])
        })?;
    let missing: Vec<String> = COLUMNS
        .iter()
        .filter(|c| df.column(c).is_err())
        .map(|c| format!("missing column `{c}`"))
        .collect();
    if !missing.is_empty() {
        return Err(fail(missing));
    }
    let col = |n: &str| -> Result<StringChunked> { Ok(df.column(n)?.str()?.clone()) };
    let (case, date, reviewer, outcome, reason) = (
        col("case_id")?,
        col("review_date")?,
        col("reviewer")?,
        col("outcome")?,
        col("override_reason")?,
    );
    let mut problems = Vec::new();
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let row = i + 1;
        fn get(c: &StringChunked, i: usize) -> Option<&str> {
            c.get(i).map(str::trim).filter(|s| !s.is_empty())
        }
        let mut bad = |column: &str, what: String| {
            problems.push(format!("row {row}, column `{column}`: {what}"));
        };
        let case_id = get(&case, i);
        if case_id.is_none() {
            bad("case_id", "missing".into());
        }
        let review_date = get(&date, i);
        match review_date {
            None => bad("review_date", "missing".into()),
            Some(d) if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() => bad(
                "review_date",
                format!(
                    "{} is not a date (YYYY-MM-DD)",
                    safeflag_core::error::quote_value(d)
                ),
            ),
            _ => {}
        }
        let who = get(&reviewer, i);
        if who.is_none() {
            bad("reviewer", "missing".into());
        }
        let what = get(&outcome, i).map(str::to_ascii_lowercase);
        match what.as_deref() {
            None => bad("outcome", "missing".into()),
            Some(o) if !OUTCOMES.contains(&o) => bad(
                "outcome",
                format!(
                    "{} is not one of {}",
                    safeflag_core::error::quote_value(o),
                    OUTCOMES.join(", ")
                ),
            ),
            _ => {}
        }
        let why = get(&reason, i);
        if what.as_deref() == Some("override") && why.is_none() {
            bad("override_reason", "an override needs its reason".into());
        }
        if let (Some(c), Some(d), Some(w), Some(o)) = (case_id, review_date, who, what) {
            out.push(Review {
                case_id: c.to_string(),
                review_date: d.to_string(),
                reviewer: w.to_string(),
                outcome: o,
                override_reason: why.map(str::to_string),
            });
        }
    }
    if !problems.is_empty() {
        return Err(fail(problems));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_row_is_named_and_nothing_is_returned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(
            &path,
            "case_id,review_date,reviewer,outcome,override_reason\n\
             C1,2025-11-20,R1,coached,\n\
             ,2025-11-20,R1,coached,\n\
             C3,2025-13-01,R1,Coached,\n\
             C4,2025-11-20,R1,override,\n\
             C5,2025-11-20,,maybe,\n",
        )
        .unwrap();
        let err = read(&path).unwrap_err().to_string();
        for want in [
            "5 problem(s), nothing imported",
            "row 2, column `case_id`: missing",
            "row 3, column `review_date`: `2025-13-01` is not a date",
            "row 4, column `override_reason`: an override needs its reason",
            "row 5, column `reviewer`: missing",
            "row 5, column `outcome`: `maybe` is not one of",
        ] {
            assert!(err.contains(want), "{want} not in:\n{err}");
        }
        assert!(!err.contains("row 1,"), "{err}");
    }

    /// Errors name the row and column; they quote only short values, and
    /// never what a broken file holds.
    #[test]
    fn errors_never_carry_long_values_or_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let long = "x".repeat(5000);
        std::fs::write(
            &path,
            format!(
                "case_id,review_date,reviewer,outcome,override_reason\nC1,2025-11-20,R1,{long},\n"
            ),
        )
        .unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(
            err.contains("row 1, column `outcome`: a value of 5000 characters"),
            "{err}"
        );
        assert!(err.len() < 300, "{err}");
        std::fs::write(
            &path,
            "case_id,review_date,reviewer,outcome,override_reason\nSECRET-CASE-9,2025-11-20,R1,coached,x,extra,fields\n",
        )
        .unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(!err.contains("SECRET"), "{err}");
    }

    #[test]
    fn a_good_file_reads_with_normalised_outcomes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(
            &path,
            "case_id,review_date,reviewer,outcome,override_reason\n\
             C1,2025-11-20,R1,Coached,\n\
             C2,2025-11-21,R2,override,\"family moved, case closing\"\n",
        )
        .unwrap();
        let r = read(&path).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].outcome, "coached");
        assert_eq!(r[0].override_reason, None);
        assert_eq!(
            r[1].override_reason.as_deref(),
            Some("family moved, case closing")
        );
    }
}
