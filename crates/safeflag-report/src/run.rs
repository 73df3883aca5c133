//! A published run directory, opened only if the run finished.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::manifest::{
    MANIFEST_FILE, QUARANTINE_CSV, QUEUE_PARQUET, RunManifest, RunStatus, SCORES_PARQUET,
    SUPPRESSED_CSV,
};
use crate::{Error, Result};

/// A finished run: its manifest and queue, with the other files on demand.
#[derive(Debug)]
pub struct RunDir {
    /// The directory.
    pub dir: PathBuf,
    /// The directory as reports and export manifests name it: `dir` unless
    /// the run is read before being moved into place (the nightly job).
    pub label: PathBuf,
    /// `manifest.json`, parsed.
    pub manifest: RunManifest,
    /// `queue.parquet`.
    pub queue: DataFrame,
}

impl RunDir {
    /// Opens `dir`, refusing a run whose manifest is missing, whose status is
    /// not `ok` (a tripped gate publishes no queue) or whose queue file does
    /// not match the sha256 the manifest recorded.
    pub fn open(dir: &Path) -> Result<RunDir> {
        let err = |message: String| Error::Run {
            dir: dir.to_path_buf(),
            message,
        };
        let manifest = RunManifest::read(dir)?;
        if manifest.status != RunStatus::Ok {
            return Err(err(format!(
                "the run did not publish a queue (status `{}`{})",
                manifest.status.as_str(),
                manifest
                    .error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            )));
        }
        let file = verified(dir, &manifest, QUEUE_PARQUET)?;
        let queue = ParquetReader::new(file).finish()?;
        Ok(RunDir {
            dir: dir.to_path_buf(),
            label: dir.to_path_buf(),
            manifest,
            queue,
        })
    }

    /// The probability (and the outcome, when the snapshot was labelled) of every scored row.
    pub fn scores(&self) -> Result<DataFrame> {
        let path = self.dir.join(SCORES_PARQUET);
        let mut reader = ParquetReader::new(self.file(&path)?);
        let mut columns = vec!["probability".to_string()];
        if reader.schema()?.contains(safeflag_core::contract::OUTCOME) {
            columns.push(safeflag_core::contract::OUTCOME.to_string());
        }
        Ok(reader.with_columns(Some(columns)).finish()?)
    }

    /// The named columns of `scores.parquet`, refused when the file does not
    /// match the sha256 the manifest recorded.
    pub fn score_columns(&self, columns: &[&str]) -> Result<DataFrame> {
        let file = verified(&self.dir, &self.manifest, SCORES_PARQUET)?;
        let columns = columns.iter().map(|c| c.to_string()).collect();
        Ok(ParquetReader::new(file)
            .with_columns(Some(columns))
            .finish()?)
    }

    /// `quarantine.csv` with every column as text.
    pub fn quarantine(&self) -> Result<DataFrame> {
        self.csv(QUARANTINE_CSV)
    }

    /// `suppressed.csv`, written by the nightly job; `None` for a plain `score` run.
    pub fn suppressed(&self) -> Result<Option<DataFrame>> {
        if !self.dir.join(SUPPRESSED_CSV).exists() {
            return Ok(None);
        }
        self.csv(SUPPRESSED_CSV).map(Some)
    }

    fn csv(&self, name: &str) -> Result<DataFrame> {
        Ok(CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(self.dir.join(name)))?
            .finish()?)
    }

    fn file(&self, path: &Path) -> Result<std::fs::File> {
        std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Opens a file of the run, refusing it unless its sha256 is the one the
/// manifest recorded.
fn verified(dir: &Path, manifest: &RunManifest, name: &str) -> Result<std::fs::File> {
    let err = |message: String| Error::Run {
        dir: dir.to_path_buf(),
        message,
    };
    let recorded = manifest
        .sha256_of(name)
        .ok_or_else(|| err(format!("the manifest lists no {name}")))?;
    let path = dir.join(name);
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    if safeflag_core::output::sha256_file(&path).map_err(io)? != recorded {
        return Err(err(format!(
            "{name} does not match the sha256 in {MANIFEST_FILE}"
        )));
    }
    std::fs::File::open(&path).map_err(io)
}
