//! A published run directory, opened only if the run finished.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::Value;

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
    pub manifest: Value,
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
        let path = dir.join("manifest.json");
        let bytes = std::fs::read(&path).map_err(|e| {
            err(format!(
                "no readable manifest.json ({e}); is this a safeflag run directory?"
            ))
        })?;
        let manifest: Value = serde_json::from_slice(&bytes)?;
        let status = manifest["status"].as_str().unwrap_or("unknown");
        if status != "ok" {
            return Err(err(format!(
                "the run did not publish a queue (status `{status}`{})",
                manifest["error"]
                    .as_str()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            )));
        }
        let recorded = manifest["outputs"]
            .as_array()
            .and_then(|o| o.iter().find(|f| f["file"] == "queue.parquet"))
            .and_then(|f| f["sha256"].as_str())
            .ok_or_else(|| err("the manifest lists no queue.parquet".into()))?;
        let queue_path = dir.join("queue.parquet");
        let actual =
            safeflag_core::output::sha256_file(&queue_path).map_err(|source| Error::Io {
                path: queue_path.clone(),
                source,
            })?;
        if actual != recorded {
            return Err(err(
                "queue.parquet does not match the sha256 in manifest.json".into(),
            ));
        }
        let file = std::fs::File::open(&queue_path).map_err(|source| Error::Io {
            path: queue_path.clone(),
            source,
        })?;
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
        let path = self.dir.join("scores.parquet");
        let mut reader = ParquetReader::new(self.file(&path)?);
        let mut columns = vec!["probability".to_string()];
        if reader.schema()?.contains(safeflag_core::contract::OUTCOME) {
            columns.push(safeflag_core::contract::OUTCOME.to_string());
        }
        Ok(reader.with_columns(Some(columns)).finish()?)
    }

    /// `quarantine.csv` with every column as text.
    pub fn quarantine(&self) -> Result<DataFrame> {
        self.csv("quarantine.csv")
    }

    /// `suppressed.csv`, written by the nightly job; `None` for a plain `score` run.
    pub fn suppressed(&self) -> Result<Option<DataFrame>> {
        if !self.dir.join("suppressed.csv").exists() {
            return Ok(None);
        }
        self.csv("suppressed.csv").map(Some)
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
