//! The JSON documents the commands print with `--json`, one type each.
//!
//! Scripts read these, so each has a `type` and a `schema_version`, and each
//! refuses unknown fields when read back: a test or a script that parses
//! one learns at once when the shape changed. (The run manifest, the export
//! manifest and the run report are defined with the run directory, in
//! `safeflag_report`.)

use std::path::PathBuf;

use safeflag_history::reviews::Review;
use safeflag_history::store::CaseHistory;
use safeflag_history::{FlagRecord, RunRecord};
use safeflag_ingest::ValidationReport;
use safeflag_model::TrainingInfo;
use safeflag_model::evaluate::Evaluation;
use safeflag_model::fairness::FairnessTable;
use serde::{Deserialize, Serialize};

use crate::training::{Evaluated, Trained};

/// `safeflag validate --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationJson {
    /// Always `validation`.
    #[serde(rename = "type")]
    pub kind: String,
    /// 1.
    pub schema_version: u32,
    /// The file validated.
    pub input: PathBuf,
    /// `csv`, `parquet` or `ipc`.
    pub format: String,
    /// Records read.
    pub rows_read: usize,
    /// Rows that passed.
    pub rows_valid: usize,
    /// Rows quarantined.
    pub rows_quarantined: usize,
    /// `rows_quarantined / rows_read`.
    pub quarantined_share: f64,
    /// The gate's limit.
    pub max_quarantine: f64,
    /// `pass` or `fail`.
    pub gate: String,
    /// Problems by column and rule.
    pub problems: Vec<ProblemJson>,
    /// Columns the contract does not know (kept out of scoring).
    pub extra_columns: Vec<String>,
    /// Where the quarantined rows were written, if asked.
    pub quarantine_file: Option<PathBuf>,
}

/// Rows breaking one rule of one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemJson {
    /// Contract column.
    pub column: String,
    /// The rule.
    pub rule: String,
    /// Rows.
    pub rows: usize,
}

impl From<&safeflag_ingest::ProblemCount> for ProblemJson {
    fn from(p: &safeflag_ingest::ProblemCount) -> ProblemJson {
        ProblemJson {
            column: p.column.to_string(),
            rule: p.rule.as_str().into(),
            rows: p.rows,
        }
    }
}

impl ValidationJson {
    /// The document of a validation against a gate.
    pub fn of(
        report: &ValidationReport,
        max_quarantine: f64,
        quarantine_file: Option<PathBuf>,
    ) -> ValidationJson {
        ValidationJson {
            kind: "validation".into(),
            schema_version: 1,
            input: report.input.clone(),
            format: report.format.as_str().into(),
            rows_read: report.rows_read,
            rows_valid: report.rows_valid,
            rows_quarantined: report.rows_quarantined,
            quarantined_share: report.quarantined_share(),
            max_quarantine,
            gate: if report.check_gate(max_quarantine).is_ok() {
                "pass"
            } else {
                "fail"
            }
            .into(),
            problems: report.problems.iter().map(ProblemJson::from).collect(),
            extra_columns: report.extra_columns.clone(),
            quarantine_file,
        }
    }
}

/// `safeflag train --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingJson {
    /// Always `training`.
    #[serde(rename = "type")]
    pub kind: String,
    /// 1.
    pub schema_version: u32,
    /// `name@sha256-prefix`.
    pub model: String,
    /// sha256 of `model.json`.
    pub sha256: String,
    /// The model directory.
    pub directory: PathBuf,
    /// `logistic` or `gbm`.
    #[serde(rename = "kind")]
    pub model_kind: String,
    /// Data, split and rows.
    pub training: TrainingInfo,
    /// Test-side metrics.
    pub evaluation: Evaluation,
    /// Test-side fairness audits.
    pub fairness: Vec<FairnessTable>,
    /// Seconds per stage.
    pub seconds: Vec<StageSeconds>,
}

/// One stage's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSeconds {
    /// The stage.
    pub stage: String,
    /// Seconds.
    pub seconds: f64,
}

impl TrainingJson {
    /// The document of a trained model.
    pub fn of(trained: &Trained, directory: PathBuf) -> TrainingJson {
        let a = &trained.artifact;
        let c = &a.content;
        TrainingJson {
            kind: "training".into(),
            schema_version: 1,
            model: a.id(),
            sha256: a.sha256.clone(),
            directory,
            model_kind: c.estimator.kind().as_str().into(),
            training: c.training.clone(),
            evaluation: c.evaluation.clone(),
            fairness: c.fairness.clone(),
            seconds: trained
                .stages
                .iter()
                .map(|(stage, seconds)| StageSeconds {
                    stage: (*stage).into(),
                    seconds: *seconds,
                })
                .collect(),
        }
    }
}

/// `safeflag evaluate --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationJson {
    /// Always `evaluation`.
    #[serde(rename = "type")]
    pub kind: String,
    /// 1.
    pub schema_version: u32,
    /// `name@sha256-prefix`.
    pub model: String,
    /// The labelled file.
    pub input: PathBuf,
    /// Records read.
    pub rows_read: usize,
    /// Rows quarantined.
    pub rows_quarantined: usize,
    /// The model's metrics.
    pub evaluation: Evaluation,
    /// The ground truth's metrics on the same rows.
    pub ground_truth: Option<Evaluation>,
    /// Fairness audits.
    pub fairness: Vec<FairnessTable>,
    /// The model's mean against the truth's by group (with a truth file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub against_truth: Vec<crate::training::TruthGroup>,
}

impl EvaluationJson {
    /// The document of an evaluation.
    pub fn of(e: &Evaluated, input: PathBuf) -> EvaluationJson {
        EvaluationJson {
            kind: "evaluation".into(),
            schema_version: 1,
            model: e.model.artifact.id(),
            input,
            rows_read: e.validated.report.rows_read,
            rows_quarantined: e.validated.report.rows_quarantined,
            evaluation: e.evaluation.clone(),
            ground_truth: e.truth.clone(),
            fairness: e.fairness.clone(),
            against_truth: e.against_truth.clone(),
        }
    }
}

/// `safeflag runs --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsJson {
    /// Always `runs`.
    #[serde(rename = "type")]
    pub kind: String,
    /// 1.
    pub schema_version: u32,
    /// Newest first.
    pub runs: Vec<RunRecord>,
}

impl RunsJson {
    /// The document of the recorded runs.
    pub fn of(runs: Vec<RunRecord>) -> RunsJson {
        RunsJson {
            kind: "runs".into(),
            schema_version: 1,
            runs,
        }
    }
}

/// `safeflag history CASE --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseHistoryJson {
    /// Always `case_history`.
    #[serde(rename = "type")]
    pub kind: String,
    /// 1.
    pub schema_version: u32,
    /// The case.
    pub case_id: String,
    /// Its flags, oldest first.
    pub flags: Vec<FlagRecord>,
    /// The nights a review suppressed it.
    pub suppressed: Vec<SuppressedJson>,
    /// Its reviews, oldest first.
    pub reviews: Vec<Review>,
}

/// A night a review suppressed the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressedJson {
    /// The night.
    pub run_date: String,
    /// The review that suppressed it.
    pub reviewed_on: String,
    /// Its lead probability that night.
    pub probability: f64,
}

impl CaseHistoryJson {
    /// The document of one case's history.
    pub fn of(case_id: &str, h: CaseHistory) -> CaseHistoryJson {
        CaseHistoryJson {
            kind: "case_history".into(),
            schema_version: 1,
            case_id: case_id.into(),
            flags: h.flags,
            suppressed: h
                .suppressed
                .into_iter()
                .map(|(run_date, s)| SuppressedJson {
                    run_date,
                    reviewed_on: s.reviewed_on,
                    probability: s.probability,
                })
                .collect(),
            reviews: h.reviews,
        }
    }
}
