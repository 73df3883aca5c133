//! The facts about a case that the suppression rule compares over time.

use std::collections::{BTreeSet, HashMap, HashSet};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Result;

/// A case as one night's snapshot shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseState {
    /// The lead (highest) probability among the case's children.
    pub probability: f64,
    /// The highest `prior_reports` among the case's rows (None if all missing).
    pub prior_reports: Option<i64>,
    /// Children under one year old at the snapshot, by child_id.
    pub infants: BTreeSet<String>,
    /// Whether any row says an unrelated adult lives in the home (None if all missing).
    pub unrelated_adult: Option<bool>,
}

/// Infants are children under this many days old.
pub const INFANT_DAYS: i32 = 365;

/// The state of each case in `wanted`, from validated `cases` and each row's
/// probability. Cases not in the snapshot are absent from the result.
pub fn case_states(
    cases: &DataFrame,
    probabilities: &[f64],
    wanted: &HashSet<String>,
) -> Result<HashMap<String, CaseState>> {
    let mut out: HashMap<String, CaseState> = HashMap::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    let case = cases.column("case_id")?.str()?;
    let rows: Vec<usize> = case
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_some_and(|c| wanted.contains(c)))
        .map(|(i, _)| i)
        .collect();
    let idx = IdxCa::from_vec("idx".into(), rows.iter().map(|&i| i as IdxSize).collect());
    let sub = cases
        .select([
            "case_id",
            "child_id",
            "snapshot_date",
            "child_birth_date",
            "prior_reports",
            "unrelated_adult_in_home",
        ])?
        .take(&idx)?;
    let sub = sub
        .lazy()
        .with_columns([
            (col("snapshot_date") - col("child_birth_date"))
                .dt()
                .total_days(false)
                .cast(DataType::Int32)
                .alias("__age"),
            col("prior_reports").cast(DataType::Int64),
            col("unrelated_adult_in_home").cast(DataType::Boolean),
        ])
        .collect()?;
    let (c, child) = (
        sub.column("case_id")?.str()?,
        sub.column("child_id")?.str()?,
    );
    let age = sub.column("__age")?.i32()?;
    let reports = sub.column("prior_reports")?.i64()?;
    let adult = sub.column("unrelated_adult_in_home")?.bool()?;
    for (k, &row) in rows.iter().enumerate() {
        let id = c.get(k).unwrap_or_default();
        let s = out.entry(id.to_string()).or_insert_with(|| CaseState {
            probability: 0.0,
            prior_reports: None,
            infants: BTreeSet::new(),
            unrelated_adult: None,
        });
        s.probability = s.probability.max(probabilities[row]);
        if let Some(r) = reports.get(k) {
            s.prior_reports = Some(s.prior_reports.map_or(r, |p| p.max(r)));
        }
        if let Some(a) = adult.get(k) {
            s.unrelated_adult = Some(s.unrelated_adult.unwrap_or(false) || a);
        }
        if age.get(k).is_some_and(|a| a < INFANT_DAYS) {
            s.infants
                .insert(child.get(k).unwrap_or_default().to_string());
        }
    }
    Ok(out)
}
