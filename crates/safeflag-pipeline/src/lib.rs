//! The order of a run, as library calls.
//!
//! The stage crates each do one job (read and validate, features, model,
//! score and queue, report, history); this crate puts them in order and
//! owns what lies between them: the output directory, the gate path, the
//! staging and publishing of a night, the history's hooks, the training
//! procedure. The `safeflag` binary only parses, resolves settings, calls
//! one of these and prints; tests and other programs call them directly.
//!
//! # Brief overview
//! * [`scoring::score`]: one scoring run into a directory (`safeflag score`).
//! * [`night::run_night`]: the whole night from a [`Config`]: lock, staging,
//!   scoring with review suppression, exports, report, publish, history.
//! * [`training::train`] and [`training::evaluate_model`]: the training
//!   procedure and a saved model's evaluation.
//! * [`backtest::backtest`]: rolling-origin backtests of candidate models,
//!   chosen by regret (`safeflag backtest`).
//! * [`compare::compare`]: two models' queues on the same nights, before a
//!   switch (`safeflag compare`).
//! * [`explain::explain`]: any scored child of a finished run explained
//!   (`safeflag explain`).
//! * [`settings`]: the config file, and the one set of checks that flags and
//!   config both go through.
//! * [`Error`]: every failure with its [`ErrorKind`], which the binary maps
//!   to an exit code in one place.
#![deny(missing_docs)]

pub mod backtest;
pub mod compare;
pub mod error;
pub mod explain;
pub mod extract;
pub mod night;
pub mod outcomes;
pub mod reports;
pub mod scoring;
pub mod settings;
pub mod training;
pub mod warehouse;

use std::path::{Path, PathBuf};

pub use error::{Context, Error, Result};
pub use safeflag_core::ErrorKind;
pub use settings::Config;

use safeflag_model::ModelArtifact;
use safeflag_report::manifest::PromptsRef;
use safeflag_score::Prompts;
use safeflag_score::reasons::{BUILTIN_PROMPTS, PROMPTS_FILE};

/// A loaded, verified model and the directory it came from.
#[derive(Debug)]
pub struct Model {
    /// The verified artifact.
    pub artifact: ModelArtifact,
    /// The model directory.
    pub dir: PathBuf,
}

impl Model {
    /// Loads a model directory (or its `model.json`), refusing a tampered one.
    pub fn load(path: &Path) -> Result<Model> {
        let artifact = ModelArtifact::load(path)?;
        let dir = if path.is_dir() {
            path.to_path_buf()
        } else {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        Ok(Model { artifact, dir })
    }

    /// The coaching prompts to use: `explicit` if given, else the model
    /// directory's own `coaching-prompts.toml`, else the built-in prompts;
    /// each checked against the model's features.
    pub fn prompts(&self, explicit: Option<&Path>) -> Result<(Prompts, PromptsRef)> {
        let names = safeflag_score::reasons::prompt_keys(&self.artifact.content.feature_spec);
        let own = self.dir.join(PROMPTS_FILE);
        let file = explicit
            .map(Path::to_path_buf)
            .or_else(|| own.is_file().then_some(own));
        Ok(match file {
            Some(path) => {
                let prompts = Prompts::from_path(&path, &names)?;
                let sha256 = safeflag_core::output::sha256_file(&path)
                    .map_err(|e| Error::io("hashing", &path, e))?;
                (
                    prompts,
                    PromptsRef {
                        path: Some(path),
                        sha256,
                    },
                )
            }
            None => (
                Prompts::builtin(&names)?,
                PromptsRef {
                    path: None,
                    sha256: safeflag_core::output::sha256_bytes(BUILTIN_PROMPTS.as_bytes()),
                },
            ),
        })
    }
}

/// Where a run reports its progress (the CLI draws a bar from it).
pub trait Progress: Sync {
    /// The run has this many stages.
    fn start(&self, _stages: u64) {}
    /// A stage begins.
    fn stage(&self, _name: &str) {}
    /// A stage ended.
    fn done(&self) {}
    /// Within the scoring stage: `scored` of `of` rows are scored.
    fn rows(&self, _scored: u64, _of: u64) {}
    /// The run ended.
    fn finish(&self) {}
}

/// No progress reporting.
pub struct Silent;
impl Progress for Silent {}

/// Reads the agency mapping file, if one is given, and ingests `input` with it.
pub fn ingest_mapped(
    input: &Path,
    mapping: Option<&Path>,
    require_outcome: bool,
) -> Result<safeflag_ingest::Validated> {
    let mapping = mapping
        .map(safeflag_ingest::Mapping::from_path)
        .transpose()?;
    let options = safeflag_ingest::IngestOptions::default()
        .with_mapping(mapping)
        .with_require_outcome(require_outcome);
    Ok(safeflag_ingest::ingest(input, &options)?)
}

/// The earliest and latest `snapshot_date` of validated cases, as `YYYY-MM-DD`.
pub fn snapshot_dates(
    cases: &polars::prelude::DataFrame,
) -> Result<(Option<String>, Option<String>)> {
    let dates = cases
        .column("snapshot_date")?
        .as_materialized_series()
        .date()?;
    let days = dates.physical();
    let iso = |d: Option<i32>| {
        d.and_then(|d| safeflag_core::days::from_days(d.into()))
            .map(|d| d.to_string())
    };
    Ok((
        iso(days.iter().flatten().min()),
        iso(days.iter().flatten().max()),
    ))
}

/// `12345` -> `12,345`.
pub fn thousands(n: impl Into<u64>) -> String {
    let s = n.into().to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0u64), "0");
        assert_eq!(thousands(999u64), "999");
        assert_eq!(thousands(1000u64), "1,000");
        assert_eq!(thousands(1234567u64), "1,234,567");
    }

    /// A model trained into a new directory scores with the built-in
    /// prompts; a prompts file in its directory overrides them.
    #[test]
    fn prompts_travel_with_the_model_or_fall_back_to_the_built_in_ones() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            root.join("models/default/model.json"),
            dir.path().join("model.json"),
        )
        .unwrap();
        let model = Model::load(dir.path()).unwrap();
        let (builtin, r) = model.prompts(None).unwrap();
        assert_eq!(r.path, None);
        std::fs::write(
            dir.path().join(PROMPTS_FILE),
            "default = \"Talk to the worker.\"\n",
        )
        .unwrap();
        let (own, r) = model.prompts(None).unwrap();
        assert_eq!(
            r.path.as_deref(),
            Some(dir.path().join(PROMPTS_FILE).as_path())
        );
        assert_eq!(own.default, "Talk to the worker.");
        assert_ne!(own, builtin);
    }
}
