//! Reading a snapshot file into a raw frame, whatever its format.
//!
//! CSV is read with every column as text: the contract's rules (trimming,
//! missing-value spellings, booleans in four spellings, strict dates) are
//! applied by the validator, not by a type-inferring reader that would turn a
//! bad date into a silent null. Parquet and Arrow IPC keep their types; the
//! validator accepts a column that already has the right type and reads any
//! other as text.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use crate::{Error, Result};

/// The name of the 1-based source row number column added on read.
pub const SOURCE_ROW: &str = "source_row";

/// The file formats safeflag reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC file (Feather v2).
    Ipc,
}

impl InputFormat {
    /// Chooses the format from the file extension.
    pub fn from_path(path: &Path) -> Result<InputFormat> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "csv" => Ok(InputFormat::Csv),
            "parquet" | "pq" => Ok(InputFormat::Parquet),
            "arrow" | "ipc" | "feather" => Ok(InputFormat::Ipc),
            _ => Err(Error::UnknownFormat {
                path: path.to_path_buf(),
                ext,
            }),
        }
    }

    /// The format's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Csv => "csv",
            InputFormat::Parquet => "parquet",
            InputFormat::Ipc => "arrow-ipc",
        }
    }
}

/// Reads `path` into a frame with a leading [`SOURCE_ROW`] column (1-based data
/// row: for CSV, the record number after the header, which is not the physical
/// line when a quoted field holds a newline).
pub fn read_raw(path: &Path, format: InputFormat) -> Result<DataFrame> {
    let meta = std::fs::metadata(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound {
            path: path.to_path_buf(),
        },
        _ => Error::Io {
            path: path.to_path_buf(),
            source,
        },
    })?;
    if !meta.is_file() {
        return Err(Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(if meta.is_dir() {
                "is a directory"
            } else {
                "is not a regular file (a FIFO, socket or device); safeflag reads files"
            }),
        });
    }
    if meta.len() == 0 {
        return Err(Error::Empty {
            path: path.to_path_buf(),
        });
    }
    let parse_err = |e: PolarsError| Error::Parse {
        path: path.to_path_buf(),
        format: format.as_str(),
        message: safeflag_core::error::redact_quoted(&e.to_string()),
    };
    // CSV: a strict reading first, whose record count the reader must match.
    let shape = match format {
        InputFormat::Csv => Some(crate::csv_check::scan(path)?),
        _ => None,
    };
    let df = match format {
        InputFormat::Csv => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_raise_if_empty(true)
            .with_row_index(Some(RowIndex {
                name: SOURCE_ROW.into(),
                offset: 1,
            }))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
            .map_err(parse_err)?,
        InputFormat::Parquet | InputFormat::Ipc => {
            let file = File::open(path).map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
            let df = if format == InputFormat::Parquet {
                ParquetReader::new(file).finish()
            } else {
                IpcReader::new(file).finish()
            }
            .map_err(parse_err)?;
            if df
                .get_column_names()
                .iter()
                .any(|n| n.as_str() == SOURCE_ROW)
            {
                return Err(Error::ReservedColumn {
                    path: path.to_path_buf(),
                    column: SOURCE_ROW,
                });
            }
            df.with_row_index(SOURCE_ROW.into(), Some(1))
                .map_err(parse_err)?
        }
    };
    let df = match &shape {
        Some(shape) => {
            let df = drop_blank_rows(df, &shape.blank_rows).map_err(parse_err)?;
            shape.check_rows(path, df.height())?;
            df
        }
        None => df,
    };
    // A CSV with a `source_row` column of its own would have been renamed by the reader.
    if df
        .get_column_names()
        .iter()
        .filter(|n| n.as_str() == SOURCE_ROW)
        .count()
        > 1
    {
        return Err(Error::ReservedColumn {
            path: path.to_path_buf(),
            column: SOURCE_ROW,
        });
    }
    Ok(df)
}

/// Drops the rows a CSV reader made of blank lines, and numbers the records
/// that are left 1, 2, 3...
fn drop_blank_rows(df: DataFrame, blank: &[usize]) -> PolarsResult<DataFrame> {
    if blank.is_empty() {
        return Ok(df);
    }
    let mut keep = vec![true; df.height()];
    for &row in blank {
        if let Some(k) = keep.get_mut(row) {
            *k = false;
        }
    }
    let kept = df.filter(&BooleanChunked::from_slice("keep".into(), &keep))?;
    kept.drop(SOURCE_ROW)?
        .with_row_index(SOURCE_ROW.into(), Some(1))
}
