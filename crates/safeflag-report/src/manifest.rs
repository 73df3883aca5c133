//! The run manifest: the one definition of `manifest.json`, written last by
//! every run (`safeflag score`, `safeflag nightly`) and read by the report,
//! the exports and the flag history.
//!
//! It lives here, in the crate that reads finished runs, because every reader
//! of a run directory depends on this crate and the writer (the pipeline)
//! does too. No manifest key is spelled as a string anywhere else: readers
//! and writers use these types, and an unknown key is refused on reading, so
//! a manifest from a newer safeflag is not half understood.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safeflag_score::{MonitorOptions, Monitoring, QueuePolicy};
use serde::{Deserialize, Serialize};

use crate::{Error, ExportFormat, Recipient, Result};

/// The manifest's file name in a run directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The value of the manifest's `type`.
pub const MANIFEST_TYPE: &str = "run_manifest";
/// The schema version this safeflag writes and reads.
pub const SCHEMA_VERSION: u32 = 3;

/// The run's queue, as CSV (for people) and Parquet (for programs).
pub const QUEUE_CSV: &str = "queue.csv";
/// The run's queue as Parquet: the one source of exports and reports.
pub const QUEUE_PARQUET: &str = "queue.parquet";
/// Every scored row, as Parquet.
pub const SCORES_PARQUET: &str = "scores.parquet";
/// Every scored row, as Arrow IPC.
pub const SCORES_ARROW: &str = "scores.arrow";
/// Every quarantined row with its reasons.
pub const QUARANTINE_CSV: &str = "quarantine.csv";
/// The cases a recent review suppressed (the nightly job).
pub const SUPPRESSED_CSV: &str = "suppressed.csv";
/// The report as JSON (the nightly job).
pub const REPORT_JSON: &str = "report.json";
/// The report as a self-contained HTML page (the nightly job).
pub const REPORT_HTML: &str = "report.html";
/// The snapshot a nightly run built from a relational extract (its input).
pub const EXTRACT_SNAPSHOT: &str = "snapshot.parquet";
/// The extract tables' quarantine of such a run (table, row, column, rule, value).
pub const EXTRACT_QUARANTINE: &str = "extract-quarantine.csv";

/// The files a successful scoring run publishes besides the manifest.
pub const SCORING_OUTPUTS: [&str; 5] = [
    QUEUE_CSV,
    QUEUE_PARQUET,
    SCORES_PARQUET,
    SCORES_ARROW,
    QUARANTINE_CSV,
];

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// The run published a queue.
    Ok,
    /// The data-quality gate tripped: no queue, only the quarantine.
    GateFailed,
}

impl RunStatus {
    /// `ok` or `gate_failed`, as the manifest and the history spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::GateFailed => "gate_failed",
        }
    }
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunManifest {
    /// Always [`MANIFEST_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The safeflag version that wrote it.
    pub tool_version: String,
    /// How the run ended.
    pub status: RunStatus,
    /// Why the run did not publish a queue (a tripped gate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The nightly job's run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The night the nightly job ran for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The latest `snapshot_date` among the valid rows.
    pub snapshot_date: Option<String>,
    /// The model that scored.
    pub model: ModelRef,
    /// The snapshot that was scored.
    pub input: InputRef,
    /// The relational extract the snapshot was built from, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<PathBuf>,
    /// The warehouse's scores the run used instead of its own, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores_from: Option<ScoresFrom>,
    /// The settings the run used.
    pub settings: RunSettings,
    /// The reconciliation of rows and cases.
    pub counts: RunCounts,
    /// Fairness, drift and missing-value checks (absent when the gate tripped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<Monitoring>,
    /// Every published file with its sha256, relative to the run directory.
    #[serde(default)]
    pub outputs: Vec<OutputFile>,
    /// The nightly job's export directories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exports: Vec<ExportEntry>,
    /// The nightly job's report files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportFiles>,
    /// Seconds per stage, and `total`.
    pub seconds: BTreeMap<String, f64>,
}

/// The model a run used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRef {
    /// `name@sha256-prefix`.
    pub id: String,
    /// sha256 of `model.json`.
    pub sha256: String,
    /// Whether it was trained on synthetic data.
    pub synthetic: bool,
    /// The model directory as given (what `safeflag explain` loads again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

/// The input a run read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputRef {
    /// The snapshot file as given.
    pub path: PathBuf,
    /// Its sha256.
    pub sha256: String,
    /// `csv`, `parquet` or `ipc`.
    pub format: String,
}

/// Probabilities computed elsewhere (the model as SQL in the warehouse) and
/// taken for the queue, after checking them against safeflag's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoresFrom {
    /// The scores file as given.
    pub path: PathBuf,
    /// Its sha256.
    pub sha256: String,
    /// The largest difference from safeflag's own probability for the row.
    pub largest_difference: f64,
}

/// The settings a run used, as resolved from flags or the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    /// The queue policy.
    pub policy: QueuePolicy,
    /// The data-quality gate: the largest share of rows that may be quarantined.
    pub max_quarantine: f64,
    /// Fairness and drift thresholds.
    pub monitor: MonitorOptions,
    /// The coaching prompts.
    pub prompts: PromptsRef,
    /// The agency mapping file, if any.
    pub mapping: Option<PathBuf>,
}

/// Where the coaching prompts came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptsRef {
    /// The file, or `None` for the prompts built into safeflag.
    pub path: Option<PathBuf>,
    /// sha256 of the prompts' text.
    pub sha256: String,
}

/// Rows and cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunCounts {
    /// Records in the input.
    pub rows_read: u64,
    /// Rows that passed validation.
    pub rows_valid: u64,
    /// Rows quarantined.
    pub rows_quarantined: u64,
    /// Rows scored (0 when the gate tripped).
    pub rows_scored: u64,
    /// Cases scored.
    pub cases_scored: u64,
    /// Cases in the queue.
    pub cases_queued: u64,
    /// Cases passed over because of a recent review.
    pub cases_suppressed: u64,
}

impl RunCounts {
    /// Whether every row read was scored or quarantined.
    pub fn reconciles(&self) -> bool {
        self.rows_read == self.rows_scored + self.rows_quarantined
    }
}

/// A published file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputFile {
    /// Path relative to the run directory.
    pub file: String,
    /// Its sha256.
    pub sha256: String,
}

/// One export directory of the nightly job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportEntry {
    /// Relative to the run directory, e.g. `exports/office-xlsx`.
    pub dir: String,
    /// Office or supervisor.
    pub by: Recipient,
    /// Excel or CSV.
    pub format: ExportFormat,
    /// Files written.
    pub files: usize,
    /// Cases exported.
    pub cases: usize,
}

/// The nightly job's report files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportFiles {
    /// The HTML page.
    pub html: String,
    /// The JSON.
    pub json: String,
}

impl RunManifest {
    /// A manifest for a run that has read its input; the rest is filled in
    /// as the run goes.
    pub fn new(model: ModelRef, input: InputRef, settings: RunSettings) -> RunManifest {
        RunManifest {
            kind: MANIFEST_TYPE.to_string(),
            schema_version: SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            status: RunStatus::Ok,
            error: None,
            run_id: None,
            date: None,
            snapshot_date: None,
            model,
            input,
            extract: None,
            scores_from: None,
            settings,
            counts: RunCounts::default(),
            monitoring: None,
            outputs: Vec::new(),
            exports: Vec::new(),
            report: None,
            seconds: BTreeMap::new(),
        }
    }

    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<RunManifest> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|e| Error::Run {
            dir: dir.to_path_buf(),
            message: format!(
                "no readable {MANIFEST_FILE} ({e}); is this a safeflag run directory?"
            ),
        })?;
        let m: RunManifest = serde_json::from_slice(&bytes).map_err(|e| Error::Run {
            dir: dir.to_path_buf(),
            message: format!("{MANIFEST_FILE} is not a run manifest this safeflag reads: {e}"),
        })?;
        if m.kind != MANIFEST_TYPE || m.schema_version != SCHEMA_VERSION {
            return Err(Error::Run {
                dir: dir.to_path_buf(),
                message: format!(
                    "{MANIFEST_FILE} is a `{}` of schema version {}; this safeflag reads `{MANIFEST_TYPE}` version {SCHEMA_VERSION}",
                    m.kind, m.schema_version
                ),
            });
        }
        Ok(m)
    }

    /// Writes `dir/manifest.json` atomically, owner-only.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        safeflag_core::output::write_bytes_atomic(&dir.join(MANIFEST_FILE), &bytes)?;
        Ok(())
    }

    /// The recorded sha256 of a published file.
    pub fn sha256_of(&self, file: &str) -> Option<&str> {
        self.outputs
            .iter()
            .find(|o| o.file == file)
            .map(|o| o.sha256.as_str())
    }

    /// Records a stage's seconds, rounded to milliseconds.
    pub fn time(&mut self, stage: &str, seconds: f64) {
        self.seconds
            .insert(stage.to_string(), (seconds * 1000.0).round() / 1000.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RunManifest {
        RunManifest::new(
            ModelRef {
                id: "m@abc".into(),
                sha256: "abc".into(),
                synthetic: true,
                dir: None,
            },
            InputRef {
                path: "s.csv".into(),
                sha256: "def".into(),
                format: "csv".into(),
            },
            RunSettings {
                policy: QueuePolicy::default(),
                max_quarantine: 0.05,
                monitor: MonitorOptions::default(),
                prompts: PromptsRef {
                    path: None,
                    sha256: "0".into(),
                },
                mapping: None,
            },
        )
    }

    #[test]
    fn a_manifest_reads_back_as_written_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = sample();
        m.time("total", 1.23456);
        m.write(dir.path()).unwrap();
        assert_eq!(RunManifest::read(dir.path()).unwrap(), m);
        assert_eq!(m.seconds["total"], 1.235);

        let path = dir.path().join(MANIFEST_FILE);
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        v["surprise"] = serde_json::json!(1);
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        let err = RunManifest::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("unknown field `surprise`"), "{err}");

        v.as_object_mut().unwrap().remove("surprise");
        v["schema_version"] = serde_json::json!(2);
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        let err = RunManifest::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("schema version 2"), "{err}");
    }
}
