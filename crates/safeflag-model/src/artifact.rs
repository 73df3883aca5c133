//! The model artifact: everything the nightly job needs, verified on load.
//!
//! `models/NAME/model.json` is one JSON object, `{"sha256": HEX, "content": {...}}`,
//! where HEX is the SHA-256 of the exact bytes of the content. Loading
//! recomputes it over those bytes, so one changed byte anywhere (a tampered
//! coefficient, a hand-edited threshold, a truncated copy) is refused. The
//! content is serialised deterministically (fixed field order, no clock), so
//! the same data and seed give a byte-identical artifact.

use std::path::{Path, PathBuf};

use safeflag_core::FeatureSpec;
use safeflag_core::output::{sha256_bytes, write_bytes_atomic};
use serde::{Deserialize, Serialize};

use crate::backtest::BacktestRecord;
use crate::calibration::{Bands, Platt};
use crate::distribution::FeatureDistribution;
use crate::estimator::{Estimator, TrainParams};
use crate::evaluate::Evaluation;
use crate::fairness::FairnessTable;
use crate::{Error, Result};

/// Version of the artifact format.
pub const FORMAT_VERSION: u32 = 1;
/// The model file inside a model directory.
pub const MODEL_FILE: &str = "model.json";
/// The model card inside a model directory.
pub const CARD_FILE: &str = "model-card.md";

const PREFIX: &str = "{\"sha256\":\"";
const MIDDLE: &str = "\",\"content\":";
const SUFFIX: &str = "}\n";

/// Where the training data came from and how it was split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// The input file's name (not its full path, which may name a person's home).
    pub input: String,
    /// SHA-256 of the input file.
    pub input_sha256: String,
    /// Rows in the input.
    pub rows_read: usize,
    /// Rows quarantined by validation.
    pub rows_quarantined: usize,
    /// Rows the estimator was fitted on.
    pub rows_fit: usize,
    /// Held-out training-side rows used for calibration and bands.
    pub rows_calibration: usize,
    /// Test rows.
    pub rows_test: usize,
    /// Rows left out to keep cases on one side of the split.
    pub rows_excluded: usize,
    /// The split, in words.
    pub split: String,
    /// First and last snapshot dates in the input.
    pub snapshot_dates: (String, String),
    /// Outcome rate on the fitted rows.
    pub prevalence_fit: f64,
    /// Whether the training data are synthetic (shipped models are).
    pub synthetic: bool,
    /// The model families tried on the same split, when `train` was asked
    /// to compare them (`--compare-families`, `--choose-family`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub families: Vec<FamilyResult>,
}

/// One model family fitted, calibrated and evaluated on the same rows as the
/// others: the evidence a choice of family rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyResult {
    /// `logistic` or `gbm`.
    pub family: String,
    /// Its settings, in words.
    pub settings: String,
    /// On the held-out rows: ROC AUC.
    pub roc_auc: f64,
    /// Average precision.
    pub average_precision: f64,
    /// Precision among the top 5% of rows.
    pub precision_top_5: f64,
    /// Brier score.
    pub brier: f64,
    /// This is the family the model holds.
    pub chosen: bool,
}

/// The whole model.
#[derive(Debug, Serialize, Deserialize)]
pub struct ModelContent {
    /// Artifact format version.
    pub format_version: u32,
    /// Model name (the directory name).
    pub name: String,
    /// safeflag version that trained it.
    pub tool_version: String,
    /// The features, replayed at scoring time.
    pub feature_spec: FeatureSpec,
    /// Training hyperparameters.
    pub params: TrainParams,
    /// The fitted estimator.
    pub estimator: Estimator,
    /// Calibration of log-odds to probabilities.
    pub calibration: Platt,
    /// Band cut-points.
    pub bands: Bands,
    /// Training data and split.
    pub training: TrainingInfo,
    /// Training distribution of every feature, for drift checks.
    pub distributions: Vec<FeatureDistribution>,
    /// Missing-value rate of each optional contract column in training.
    pub missing_rates: Vec<(String, f64)>,
    /// Test-side metrics.
    pub evaluation: Evaluation,
    /// Test-side fairness audits.
    pub fairness: Vec<FairnessTable>,
    /// The rolling-origin backtest that chose this model's settings, if one
    /// did (absent from models trained without one, so their bytes and hash
    /// are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backtest: Option<BacktestRecord>,
}

/// A loaded, verified model.
#[derive(Debug)]
pub struct ModelArtifact {
    /// The content.
    pub content: ModelContent,
    /// SHA-256 of the content bytes.
    pub sha256: String,
}

impl ModelArtifact {
    /// A short identifier: name and the first 12 hex digits of the hash.
    pub fn id(&self) -> String {
        format!("{}@{}", self.content.name, &self.sha256[..12])
    }

    /// Serialises content; returns the artifact bytes and the hash.
    pub fn to_bytes(content: &ModelContent) -> Result<(Vec<u8>, String)> {
        let body = serde_json::to_vec_pretty(content).map_err(|e| Error::Artifact {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        let sha = sha256_bytes(&body);
        let mut out = Vec::with_capacity(body.len() + 100);
        out.extend_from_slice(PREFIX.as_bytes());
        out.extend_from_slice(sha.as_bytes());
        out.extend_from_slice(MIDDLE.as_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(SUFFIX.as_bytes());
        Ok((out, sha))
    }

    /// Writes `dir/model.json` atomically and returns the loaded artifact.
    pub fn save(content: ModelContent, dir: &Path) -> Result<ModelArtifact> {
        safeflag_core::output::create_private_dir_all(dir).map_err(|e| Error::Artifact {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let (bytes, sha) = Self::to_bytes(&content)?;
        write_bytes_atomic(&dir.join(MODEL_FILE), &bytes)?;
        Ok(ModelArtifact {
            content,
            sha256: sha,
        })
    }

    /// Loads `dir/model.json` (or a file path) and verifies its hash.
    pub fn load(path: &Path) -> Result<ModelArtifact> {
        let file = if path.is_dir() {
            path.join(MODEL_FILE)
        } else {
            path.to_path_buf()
        };
        let bad = |message: String| Error::Artifact {
            path: file.clone(),
            message,
        };
        let bytes = std::fs::read(&file).map_err(|e| bad(format!("cannot read: {e}")))?;
        let body_start = PREFIX.len() + 64 + MIDDLE.len();
        if bytes.len() < body_start + SUFFIX.len()
            || !bytes.starts_with(PREFIX.as_bytes())
            || &bytes[PREFIX.len() + 64..body_start] != MIDDLE.as_bytes()
            || !bytes.ends_with(SUFFIX.as_bytes())
        {
            return Err(bad("not a safeflag model file (bad framing)".into()));
        }
        let recorded =
            String::from_utf8_lossy(&bytes[PREFIX.len()..PREFIX.len() + 64]).into_owned();
        let body = &bytes[body_start..bytes.len() - SUFFIX.len()];
        let actual = sha256_bytes(body);
        if actual != recorded {
            return Err(bad(format!(
                "content does not match its sha256 (recorded {}, actual {}): the file was changed or damaged; retrain or restore it",
                &recorded[..12.min(recorded.len())],
                &actual[..12]
            )));
        }
        let content: ModelContent =
            serde_json::from_slice(body).map_err(|e| bad(format!("unreadable content: {e}")))?;
        if content.format_version != FORMAT_VERSION {
            return Err(bad(format!(
                "format version {} is not supported (this safeflag reads {FORMAT_VERSION})",
                content.format_version
            )));
        }
        Ok(ModelArtifact {
            content,
            sha256: actual,
        })
    }
}
