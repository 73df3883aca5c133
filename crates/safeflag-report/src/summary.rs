//! What an analyst reads about a run: the queue against capacity, the most
//! frequent reasons, quarantine by column and rule, the counts, fairness,
//! drift and suppressed cases. One [`Summary`] feeds the CLI tables, the JSON
//! (schema in docs/report.md) and the HTML report, so the three never disagree.

use std::collections::BTreeMap;

use polars::prelude::*;
use safeflag_model::fairness::FairnessTable;
use safeflag_model::metrics::{CalibrationBin, calibration_table};
use safeflag_score::Monitoring;
use serde::{Deserialize, Serialize};

use crate::{Result, RunDir};

/// Queue schema version of the JSON.
pub const SCHEMA_VERSION: u32 = 1;

/// The run at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Always `run_report`.
    #[serde(rename = "type")]
    pub kind: String,
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Model, input, snapshot date, run id when the nightly job ran it.
    pub run: RunInfo,
    /// The reconciliation of rows and cases.
    pub counts: Counts,
    /// Queued cases by office and tier, against the office's capacity.
    pub offices: Vec<OfficeRow>,
    /// How often each reason appears among the queued cases' top three.
    pub reasons: Vec<ReasonRow>,
    /// Quarantined rows by column and rule.
    pub quarantine: Vec<QuarantineRow>,
    /// The distribution of every scored row's probability, with the queue's cut-off.
    pub scores: ScoreHistogram,
    /// Calibration by deciles, when the snapshot was labelled.
    pub calibration: Option<Vec<CalibrationBin>>,
    /// Fairness, drift and missing-value checks, with their warnings.
    pub monitoring: Monitoring,
    /// Cases suppressed after a recent review that the queue passed over.
    pub suppressed: Vec<SuppressedRow>,
    /// The review practice of the nights before this one (the nightly job's
    /// report only: it reads the history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practice: Option<safeflag_review::measures::PracticeMeasures>,
    /// Each office's queue on the nights before this one and tonight (the
    /// nightly job's report only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queue_over_time: Vec<safeflag_review::measures::QueueNight>,
}

/// Identifies the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The run directory.
    pub dir: String,
    /// The nightly job's run id, if any.
    pub run_id: Option<String>,
    /// The latest snapshot date in the input.
    pub snapshot_date: Option<String>,
    /// `name@sha256-prefix`.
    pub model: String,
    /// Whether the model was trained on synthetic data.
    pub synthetic_model: bool,
    /// The input file.
    pub input: String,
}

/// The counts, and whether they reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Rows in the input.
    pub rows_read: u64,
    /// Rows scored.
    pub rows_scored: u64,
    /// Rows quarantined.
    pub rows_quarantined: u64,
    /// `rows_read == rows_scored + rows_quarantined`.
    pub reconciles: bool,
    /// Cases scored.
    pub cases_scored: u64,
    /// Cases queued.
    pub cases_queued: u64,
    /// Cases passed over because of a recent review.
    pub cases_suppressed: u64,
}

/// One office's queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeRow {
    /// The office.
    pub office: String,
    /// Queued cases.
    pub queued: usize,
    /// Of which in the high tier.
    pub high: usize,
    /// Medium tier.
    pub medium: usize,
    /// Low tier.
    pub low: usize,
    /// The office's capacity under the run's policy, if it had one.
    pub capacity: Option<usize>,
}

/// One reason's frequency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonRow {
    /// The reason in plain words.
    pub reason: String,
    /// Queued cases that have it among their top three.
    pub cases: usize,
}

/// Quarantined rows of one (column, rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRow {
    /// Contract column.
    pub column: String,
    /// Rule broken.
    pub rule: String,
    /// Problems found (a row can break several rules).
    pub problems: usize,
}

/// A histogram of log10(probability).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreHistogram {
    /// Bin edges in probability (`counts.len() + 1` of them), equal in log scale.
    pub edges: Vec<f64>,
    /// Scored rows per bin.
    pub counts: Vec<usize>,
    /// The lowest lead probability in the queue: the cut-off the policy produced.
    pub cutoff: Option<f64>,
}

/// A suppressed case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuppressedRow {
    /// The case.
    pub case_id: String,
    /// Its office.
    pub office: String,
    /// Its lead probability tonight.
    pub probability: f64,
    /// The review that suppresses it.
    pub reviewed_on: String,
}

const HIST_BINS: usize = 40;

impl Summary {
    /// Reads everything a report needs from a finished run.
    pub fn of(run: &RunDir) -> Result<Summary> {
        let m = &run.manifest;
        let c = &m.counts;
        let counts = Counts {
            rows_read: c.rows_read,
            rows_scored: c.rows_scored,
            rows_quarantined: c.rows_quarantined,
            reconciles: c.reconciles(),
            cases_scored: c.cases_scored,
            cases_queued: c.cases_queued,
            cases_suppressed: c.cases_suppressed,
        };
        let info = RunInfo {
            dir: run.label.display().to_string(),
            run_id: m.run_id.clone(),
            snapshot_date: m.snapshot_date.clone(),
            model: m.model.id.clone(),
            synthetic_model: m.model.synthetic,
            input: m.input.path.display().to_string(),
        };
        let monitoring: Monitoring = m.monitoring.clone().ok_or_else(|| crate::Error::Run {
            dir: run.dir.clone(),
            message: "the manifest of a published run has no monitoring".into(),
        })?;

        let q = &run.queue;
        let policy = &m.settings.policy;
        let capacity = |office: &str| policy.capacity_of(office);
        let mut offices: BTreeMap<String, OfficeRow> = BTreeMap::new();
        let (office, tier) = (q.column("office")?.str()?, q.column("tier")?.str()?);
        for (o, t) in office.iter().zip(tier.iter()) {
            let o = o.unwrap_or_default();
            let row = offices.entry(o.to_string()).or_insert_with(|| OfficeRow {
                office: o.to_string(),
                queued: 0,
                high: 0,
                medium: 0,
                low: 0,
                capacity: capacity(o),
            });
            row.queued += 1;
            match t.unwrap_or_default() {
                "high" => row.high += 1,
                "medium" => row.medium += 1,
                _ => row.low += 1,
            }
        }
        // Offices with a capacity but nothing queued tonight still show.
        for (o, c) in &policy.office_capacities {
            offices.entry(o.clone()).or_insert_with(|| OfficeRow {
                office: o.clone(),
                queued: 0,
                high: 0,
                medium: 0,
                low: 0,
                capacity: Some(*c),
            });
        }

        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for r in q.column("reasons")?.str()?.iter().flatten() {
            for part in r.split("; ").filter(|p| !p.is_empty()) {
                *reasons.entry(part).or_default() += 1;
            }
        }
        let mut reasons: Vec<ReasonRow> = reasons
            .into_iter()
            .map(|(reason, cases)| ReasonRow {
                reason: reason.to_string(),
                cases,
            })
            .collect();
        reasons.sort_by(|a, b| b.cases.cmp(&a.cases).then(a.reason.cmp(&b.reason)));

        let quarantine_df = run.quarantine()?;
        let mut quarantine: BTreeMap<(String, String), usize> = BTreeMap::new();
        let (qc, qr) = (
            quarantine_df.column("column")?.str()?,
            quarantine_df.column("rule")?.str()?,
        );
        for (c, r) in qc.iter().zip(qr.iter()) {
            *quarantine
                .entry((c.unwrap_or_default().into(), r.unwrap_or_default().into()))
                .or_default() += 1;
        }
        let mut quarantine: Vec<QuarantineRow> = quarantine
            .into_iter()
            .map(|((column, rule), problems)| QuarantineRow {
                column,
                rule,
                problems,
            })
            .collect();
        quarantine.sort_by_key(|q| std::cmp::Reverse(q.problems));

        let scores = run.scores()?;
        let p: Vec<f64> = scores
            .column("probability")?
            .f64()?
            .into_no_null_iter()
            .collect();
        let cutoff = q
            .column("probability")?
            .f64()?
            .into_no_null_iter()
            .reduce(f64::min);
        let calibration = match scores.column(safeflag_core::contract::OUTCOME) {
            Ok(y) => {
                let y: Vec<bool> = y.bool()?.iter().map(|v| v.unwrap_or(false)).collect();
                Some(calibration_table(&p, &y, 10))
            }
            Err(_) => None,
        };

        let suppressed = match run.suppressed()? {
            None => Vec::new(),
            Some(df) => {
                let col = |n: &str| -> Result<StringChunked> { Ok(df.column(n)?.str()?.clone()) };
                let (c, o, p, r) = (
                    col("case_id")?,
                    col("office")?,
                    col("probability")?,
                    col("reviewed_on")?,
                );
                (0..df.height())
                    .map(|i| SuppressedRow {
                        case_id: c.get(i).unwrap_or_default().into(),
                        office: o.get(i).unwrap_or_default().into(),
                        probability: p.get(i).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN),
                        reviewed_on: r.get(i).unwrap_or_default().into(),
                    })
                    .collect()
            }
        };

        Ok(Summary {
            kind: "run_report".into(),
            schema_version: SCHEMA_VERSION,
            run: info,
            counts,
            offices: offices.into_values().collect(),
            reasons,
            quarantine,
            scores: histogram(&p, cutoff),
            calibration,
            monitoring,
            suppressed,
            practice: None,
            queue_over_time: Vec::new(),
        })
    }

    /// The fairness table for a grouping, if the run audited it.
    pub fn fairness(&self, grouping: &str) -> Option<&FairnessTable> {
        self.monitoring
            .fairness
            .iter()
            .find(|t| t.grouping == grouping)
    }
}

fn histogram(p: &[f64], cutoff: Option<f64>) -> ScoreHistogram {
    let floor = 1e-5;
    let (lo, hi) = p
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v.max(floor)), b.max(v))
        });
    if !lo.is_finite() || !hi.is_finite() {
        return ScoreHistogram {
            edges: Vec::new(),
            counts: Vec::new(),
            cutoff,
        };
    }
    let (a, b) = (lo.log10(), hi.max(lo * 1.0001).log10());
    let w = (b - a) / HIST_BINS as f64;
    let mut counts = vec![0usize; HIST_BINS];
    for &v in p {
        let k = (((v.max(floor)).log10() - a) / w).floor();
        counts[(k.max(0.0) as usize).min(HIST_BINS - 1)] += 1;
    }
    let edges = (0..=HIST_BINS)
        .map(|k| 10f64.powf(a + w * k as f64))
        .collect();
    ScoreHistogram {
        edges,
        counts,
        cutoff,
    }
}
