//! Snapshots and training stacks from an agency's relational extract.
//!
//! The order: read and validate the eight tables, write their quarantine
//! (when asked) before the gate so a tripped gate still leaves the rows to
//! look at, apply the gate, build, validate what was built, write it
//! atomically. The nightly job and `safeflag train` call the same steps.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::DataFrame;
use safeflag_extract::{
    BuildSummary, Extract, ExtractMapping, LabelOptions, LoadOptions, StackSummary,
};
use serde::{Deserialize, Serialize};

use crate::reports::ProblemJson;
use crate::{Error, Result};

/// Where an extract is and how to read it.
#[derive(Debug, Clone)]
pub struct ExtractSource {
    /// The extract directory (the tables and `extract.toml`).
    pub dir: PathBuf,
    /// The agency's extract mapping file, if any.
    pub mapping: Option<PathBuf>,
    /// The data-quality gate: the largest quarantined share of any table.
    pub max_quarantine: f64,
}

/// Which rows to build.
#[derive(Debug, Clone, Copy)]
pub enum Dates {
    /// One snapshot as of this date (the extract date when `None`).
    AsOf(Option<NaiveDate>),
    /// A labelled stack: `from, from + every, ...` up to `to`.
    Stack {
        /// The first as-of date.
        from: NaiveDate,
        /// The last as-of date (inclusive).
        to: NaiveDate,
        /// Days between dates.
        every_days: u32,
        /// The label window and recording lag.
        label: LabelOptions,
    },
}

/// `safeflag snapshot --json`, and what the nightly job keeps of its extract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractSnapshotJson {
    /// Always `extract_snapshot`.
    #[serde(rename = "type")]
    pub kind: String,
    /// 1.
    pub schema_version: u32,
    /// The extract directory.
    pub extract: PathBuf,
    /// Its extract date.
    pub extracted_on: String,
    /// Each table: rows read, valid, quarantined, and its problems.
    pub tables: Vec<TableJson>,
    /// The snapshot built (one as-of date).
    pub snapshot: Option<BuildSummary>,
    /// The stack built (several dates, labelled).
    pub stack: Option<StackSummary>,
    /// Rows written.
    pub rows_written: usize,
    /// Where they were written.
    pub out: PathBuf,
    /// Where the tables' quarantine was written, if asked.
    pub quarantine_file: Option<PathBuf>,
}

/// One table of an extract as validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableJson {
    /// The table.
    pub table: String,
    /// The file it was read from.
    pub file: PathBuf,
    /// Rows in the file.
    pub rows_read: usize,
    /// Rows that passed every rule.
    pub rows_valid: usize,
    /// Rows quarantined.
    pub rows_quarantined: usize,
    /// Problems by column and rule.
    pub problems: Vec<ProblemJson>,
}

/// Reads and validates the extract, writes its quarantine if asked (before
/// the gate, so a tripped gate leaves the rows behind it), then applies the gate.
pub fn read_extract(source: &ExtractSource, quarantine: Option<&Path>) -> Result<Extract> {
    let x = read_ungated(source, quarantine)?;
    x.check_gate(source.max_quarantine)?;
    Ok(x)
}

/// Reads and validates the extract and writes its quarantine if asked,
/// without the gate: the caller applies [`Extract::check_gate`] (the nightly
/// job records a tripped gate with the extract's counts first).
pub fn read_ungated(source: &ExtractSource, quarantine: Option<&Path>) -> Result<Extract> {
    let mapping = source
        .mapping
        .as_deref()
        .map(ExtractMapping::from_path)
        .transpose()?;
    let options = LoadOptions {
        mapping,
        max_quarantined_share: source.max_quarantine,
    };
    let x = safeflag_extract::read(&source.dir, &options)?;
    if let Some(path) = quarantine {
        let mut q = x.quarantine()?;
        safeflag_ingest::write_frame(&mut q, path)?;
    }
    Ok(x)
}

/// Builds the rows `dates` asks for from a read extract: the frame and what it holds.
pub fn build(
    x: &Extract,
    dates: Dates,
) -> Result<(DataFrame, Option<BuildSummary>, Option<StackSummary>)> {
    Ok(match dates {
        Dates::AsOf(date) => {
            let built = safeflag_extract::snapshot(x, date.unwrap_or(x.extracted_on))?;
            (built.frame, Some(built.summary), None)
        }
        Dates::Stack {
            from,
            to,
            every_days,
            label,
        } => {
            let dates = safeflag_extract::dates_every(from, to, every_days)?;
            let stack = safeflag_extract::stack(x, &dates, label)?;
            (stack.frame, None, Some(stack.summary))
        }
    })
}

/// Reads the extract, builds the rows and writes them to `out` (CSV,
/// Parquet or Arrow IPC by extension), atomically and owner-only.
pub fn snapshot_to_file(
    source: &ExtractSource,
    dates: Dates,
    out: &Path,
    quarantine: Option<&Path>,
) -> Result<ExtractSnapshotJson> {
    safeflag_ingest::InputFormat::from_path(out)?;
    if let Some(q) = quarantine {
        safeflag_ingest::InputFormat::from_path(q)?;
    }
    let x = read_extract(source, quarantine)?;
    build_to_file(source, &x, dates, out, quarantine)
}

/// Builds the rows `dates` asks for from an extract that passed the gate and
/// writes them to `out`.
pub fn build_to_file(
    source: &ExtractSource,
    x: &Extract,
    dates: Dates,
    out: &Path,
    quarantine: Option<&Path>,
) -> Result<ExtractSnapshotJson> {
    let (mut frame, snapshot, stack) = build(x, dates)?;
    if frame.height() == 0 {
        return Err(Error::input(format!(
            "no child is in an open case on the date asked for in extract `{}`",
            source.dir.display()
        )));
    }
    safeflag_ingest::write_frame(&mut frame, out)?;
    Ok(ExtractSnapshotJson {
        kind: "extract_snapshot".into(),
        schema_version: 1,
        extract: source.dir.clone(),
        extracted_on: x.extracted_on.to_string(),
        tables: tables_json(x),
        snapshot,
        stack,
        rows_written: frame.height(),
        out: out.to_path_buf(),
        quarantine_file: quarantine.map(Path::to_path_buf),
    })
}

fn tables_json(x: &Extract) -> Vec<TableJson> {
    x.reports
        .iter()
        .map(|t| TableJson {
            table: t.table.to_string(),
            file: t.file.clone(),
            rows_read: t.report.rows_read,
            rows_valid: t.report.rows_valid,
            rows_quarantined: t.report.rows_quarantined,
            problems: t.report.problems.iter().map(ProblemJson::from).collect(),
        })
        .collect()
}

/// Builds a labelled stack from an extract into a private temporary Parquet
/// file, for training: the file is deleted when the returned path is dropped.
pub fn stack_for_training(
    source: &ExtractSource,
    dates: Dates,
) -> Result<(tempfile::TempPath, ExtractSnapshotJson)> {
    if !matches!(dates, Dates::Stack { .. }) {
        return Err(Error::input(format!(
            "training from extract `{}` needs the dates of its stack: --from, --to and --every",
            source.dir.display()
        )));
    }
    let file = tempfile::Builder::new()
        .prefix("safeflag-stack-")
        .suffix(".parquet")
        .tempfile()
        .map_err(|e| Error::io("creating a temporary file in", &std::env::temp_dir(), e))?;
    let path = file.into_temp_path();
    let doc = snapshot_to_file(source, dates, &path, None)?;
    Ok((path, doc))
}

/// What `generate --extract` wrote.
#[derive(Debug, Clone)]
pub struct GeneratedExtract {
    /// Rows per table, in table order.
    pub rows: Vec<(&'static str, usize)>,
    /// Critical incidents in the world.
    pub incidents: usize,
    /// Seconds spent generating (not writing).
    pub generate_seconds: f64,
}

/// Generates a synthetic world and writes it as an extract directory (and
/// its truth, if asked).
pub fn generate_extract(
    params: &safeflag_synth::WorldParams,
    dir: &Path,
    format: &str,
    truth: Option<&Path>,
) -> Result<GeneratedExtract> {
    if let Some(t) = truth {
        safeflag_ingest::InputFormat::from_path(t)?;
    }
    let started = std::time::Instant::now();
    let world = safeflag_synth::generate_world(params);
    let generate_seconds = started.elapsed().as_secs_f64();
    let rows: Vec<(&'static str, usize)> = safeflag_core::extract_contract::TABLES
        .iter()
        .zip(&world.tables)
        .map(|(t, df)| (t.name, df.height()))
        .collect();
    let incidents = world.tables.last().map_or(0, DataFrame::height);
    let mut truth_frame = world.truth;
    let x = Extract::from_frames(world.extracted_on, world.tables)?;
    x.write(dir, format)?;
    if let Some(t) = truth {
        safeflag_ingest::write_frame(&mut truth_frame, t)?;
    }
    Ok(GeneratedExtract {
        rows,
        incidents,
        generate_seconds,
    })
}
