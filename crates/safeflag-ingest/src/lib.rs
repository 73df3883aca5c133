//! Ingest of the nightly case snapshot: read, map, validate, quarantine.
//!
//! A job that silently drops a bad row can hide a child from the queue; one
//! that guesses publishes garbage. So ingest neither drops nor guesses: every
//! data row of the input ends up either in [`Validated::cases`], typed to the
//! contract, or in the quarantine table of [`ValidationReport`] with its row
//! number, column, rule and raw value, and the counts always reconcile.
//!
//! # Brief overview
//! * [`ingest`] reads a CSV, Parquet or Arrow IPC file ([`InputFormat`]),
//!   applies an agency [`Mapping`], and validates it against
//!   [`safeflag_core::contract`].
//! * [`ValidationReport::check_gate`] is the data-quality gate: a broken
//!   extract (too large a quarantined share) must never become a queue.
//! * [`write_quarantine`] and [`write_frame`] write atomically, owner-only.
//!
//! ```no_run
//! use safeflag_ingest::{IngestOptions, ingest};
//! let validated = ingest("snapshot.csv".as_ref(), &IngestOptions::default())?;
//! let r = &validated.report;
//! assert_eq!(r.rows_read, r.rows_valid + r.rows_quarantined);
//! r.check_gate(0.05)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

use std::path::{Path, PathBuf};

use polars::prelude::*;

pub mod csv_check;
pub mod kernels;
pub mod mapping;
pub mod read;
pub mod validate;
pub mod write;

pub use mapping::{Mapping, MappingFile};
pub use read::{InputFormat, SOURCE_ROW};
pub use validate::{
    GateFailure, IngestOptions, ProblemCount, Validated, ValidationReport, contract_dtype, ingest,
    validate_frame,
};
pub use write::write_frame;

use safeflag_core::{ErrorKind, Kinded};

/// Errors of ingest. Each names the file, and the column where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input file does not exist.
    #[error("`{path}` does not exist")]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The extension is not one safeflag reads.
    #[error(
        "`{path}` has an unknown format (extension `{ext}`); expected `.csv`, `.parquet` or `.arrow` (`.ipc`, `.feather`)"
    )]
    UnknownFormat {
        /// The path given.
        path: PathBuf,
        /// Its extension, lowercased.
        ext: String,
    },
    /// The file has no bytes.
    #[error("`{path}` is empty")]
    Empty {
        /// The path given.
        path: PathBuf,
    },
    /// The file has a header but no data rows.
    #[error("`{path}` has no data rows")]
    NoRows {
        /// The path given.
        path: PathBuf,
    },
    /// The file could not be parsed in its format.
    #[error("`{path}` is not a readable {format} file: {message}")]
    Parse {
        /// The path given.
        path: PathBuf,
        /// The format tried.
        format: &'static str,
        /// The parser's message.
        message: String,
    },
    /// Required contract columns are absent.
    #[error("`{path}` lacks required column{} {}", if columns.len() == 1 { "" } else { "s" }, columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))]
    MissingColumns {
        /// The path given.
        path: PathBuf,
        /// The missing canonical columns.
        columns: Vec<String>,
    },
    /// A contract column has a type no contract value can have.
    #[error(
        "`{path}`: column `{column}` has type {dtype}, which holds no contract value; export it as text or a number"
    )]
    UnsupportedType {
        /// The path given.
        path: PathBuf,
        /// The contract column.
        column: String,
        /// Its type, as polars names it.
        dtype: String,
    },
    /// The input uses a column name safeflag reserves.
    #[error("`{path}` has a column named `{column}`, which safeflag reserves for row numbers")]
    ReservedColumn {
        /// The path given.
        path: PathBuf,
        /// The reserved name.
        column: &'static str,
    },
    /// The mapping file is invalid or does not fit the input.
    #[error("mapping `{path}`: {message}")]
    Mapping {
        /// The mapping file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An output file could not be written.
    #[error(transparent)]
    Output(#[from] safeflag_core::output::OutputError),
    /// An unexpected failure inside the dataframe engine (a bug, not bad input).
    #[error("internal error in the dataframe engine: {0}")]
    Internal(PolarsError),
}

impl Error {
    fn internal(e: PolarsError) -> Error {
        Error::Internal(e)
    }

    /// Whether the error is a safeflag bug rather than bad input.
    pub fn is_internal(&self) -> bool {
        self.kind() == ErrorKind::Internal
    }
}

impl Kinded for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Internal(_) => ErrorKind::Internal,
            Error::Output(e) => e.kind(),
            _ => ErrorKind::Input,
        }
    }
}

impl Kinded for GateFailure {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Gate
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Writes the quarantine table (`row,column,rule,value`) in the format of the
/// path's extension (CSV, Parquet or Arrow IPC), atomically and owner-only.
pub fn write_quarantine(quarantine: &DataFrame, path: &Path) -> Result<()> {
    let mut df = quarantine
        .clone()
        .lazy()
        .rename([SOURCE_ROW], ["row"], true)
        .collect()
        .map_err(Error::internal)?;
    write_frame(&mut df, path)
}
