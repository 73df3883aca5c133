//! Scores computed in the warehouse, taken back for the queue.
//!
//! An agency that scores inside its warehouse (`safeflag model sql`) keeps
//! the warehouse as the record of its scores and still wants safeflag's
//! queue, reasons, exports and history. `safeflag score --scores FILE` takes
//! the file's probabilities for the night's rows instead of its own, after
//! checking that every scored row has exactly one, that the file has no row
//! the night does not, and that each lies within [`TOLERANCE`] of what
//! safeflag computes for the same row: a score from another model, or from
//! other data, would be explained by reasons that do not belong to it, so
//! it is refused rather than queued. All or nothing, like every input.

use std::path::Path;

use polars::prelude::*;
use safeflag_ingest::SOURCE_ROW;
use safeflag_model::calibration::{Bands, tier};
use safeflag_report::manifest::ScoresFrom;
use safeflag_score::RowScores;

use crate::{Error, Result};

/// The largest difference allowed between a row's probability in the file
/// and safeflag's own (the model as SQL or ONNX agrees to 1e-8 or better).
pub const TOLERANCE: f64 = 1e-6;

/// Replaces the rows' probabilities, bands and tiers with the file's.
pub fn take_scores(rows: &mut RowScores, bands: &Bands, path: &Path) -> Result<ScoresFrom> {
    let format = safeflag_ingest::InputFormat::from_path(path)?;
    let raw = safeflag_ingest::read::read_raw(path, format)?;
    let file = path.display();
    for c in ["child_id", "snapshot_date", "probability"] {
        if raw.column(c).is_err() {
            return Err(Error::input(format!(
                "`{file}`: no column `{c}` (a scores file has child_id, snapshot_date, probability)"
            )));
        }
    }
    let date = match raw.column("snapshot_date")?.dtype() {
        DataType::Date => col("snapshot_date"),
        _ => col("snapshot_date")
            .cast(DataType::String)
            .str()
            .slice(lit(0), lit(10))
            .str()
            .to_date(StrptimeOptions {
                format: Some("%Y-%m-%d".into()),
                strict: false,
                ..Default::default()
            }),
    };
    let theirs = raw
        .lazy()
        .select([
            col(SOURCE_ROW),
            col("child_id").cast(DataType::String),
            date.alias("snapshot_date"),
            col("probability")
                .cast(DataType::Float64)
                .alias("file_probability"),
        ])
        .collect()
        .map_err(|e| Error::input(format!("`{file}`: {e}")))?;
    let bad = theirs
        .clone()
        .lazy()
        .filter(
            col("child_id")
                .is_null()
                .or(col("snapshot_date").is_null())
                .or(col("file_probability").is_null())
                .or(col("file_probability").lt(lit(0.0)))
                .or(col("file_probability").gt(lit(1.0)))
                .or(col("file_probability").is_nan()),
        )
        .select([col(SOURCE_ROW)])
        .collect()?;
    if let Some(row) = first(&bad)? {
        return Err(Error::input(format!(
            "`{file}` row {row}: child_id, snapshot_date (YYYY-MM-DD) and a probability between 0 and 1 are needed"
        )));
    }
    let keys = [col("child_id"), col("snapshot_date")];
    let dup = theirs
        .clone()
        .lazy()
        .filter(
            col("child_id")
                .is_first_distinct()
                .over(keys.clone())?
                .not(),
        )
        .select([col(SOURCE_ROW)])
        .collect()?;
    if let Some(row) = first(&dup)? {
        return Err(Error::input(format!(
            "`{file}` row {row}: a second score for the same child and snapshot date"
        )));
    }
    let ours = rows
        .scores
        .clone()
        .lazy()
        .select([col("child_id"), col("snapshot_date"), col("probability")])
        .with_row_index("__row", None);
    let joined = ours
        .clone()
        .join(
            theirs.clone().lazy(),
            keys.clone(),
            keys.clone(),
            JoinArgs::new(JoinType::Left),
        )
        .sort(["__row"], SortMultipleOptions::default())
        .collect()?;
    let missing = joined.column("file_probability")?.null_count();
    if missing > 0 {
        return Err(Error::input(format!(
            "`{file}` has no score for {missing} of the night's {} scored rows",
            joined.height()
        )));
    }
    let extra = theirs
        .lazy()
        .join(ours, keys.clone(), keys, JoinArgs::new(JoinType::Anti))
        .select([col(SOURCE_ROW)])
        .collect()?;
    if let Some(row) = first(&extra)? {
        return Err(Error::input(format!(
            "`{file}` row {row}: a score for a child and date not scored tonight ({} such rows)",
            extra.height()
        )));
    }
    let own = joined.column("probability")?.f64()?;
    let given = joined.column("file_probability")?.f64()?;
    let source = joined.column(SOURCE_ROW)?.idx()?;
    let (mut worst, mut worst_row) = (0.0f64, 0);
    for i in 0..joined.height() {
        let d = (own.get(i).unwrap_or(f64::NAN) - given.get(i).unwrap_or(f64::NAN)).abs();
        if d > worst || d.is_nan() {
            worst = d;
            worst_row = source.get(i).unwrap_or_default();
        }
    }
    if worst.is_nan() || worst > TOLERANCE {
        return Err(Error::input(format!(
            "`{file}` row {worst_row}: the probability differs from safeflag's own for the row by {worst:.2e} (more than {TOLERANCE:e}): scored by another model or from other data, so its reasons would not explain it"
        )));
    }
    let p: Vec<f64> = given.into_no_null_iter().collect();
    let b: Vec<u32> = p.iter().map(|&p| u32::from(bands.band(p))).collect();
    let t: Vec<&str> = b.iter().map(|&b| tier(b as u8)).collect();
    rows.scores
        .with_column(Column::new("probability".into(), &p))?;
    rows.scores.with_column(Column::new("band".into(), b))?;
    rows.scores.with_column(Column::new("tier".into(), t))?;
    rows.probabilities = p;
    Ok(ScoresFrom {
        path: path.to_path_buf(),
        sha256: safeflag_core::output::sha256_file(path)
            .map_err(|e| Error::io("hashing", path, e))?,
        largest_difference: worst,
    })
}

/// The first source row of a frame of source rows, if any.
fn first(rows: &DataFrame) -> Result<Option<IdxSize>> {
    if rows.height() == 0 {
        return Ok(None);
    }
    Ok(rows.column(SOURCE_ROW)?.idx()?.get(0))
}
