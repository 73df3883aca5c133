//! From an agency's relational extract to contract snapshots, as of any date.
//!
//! No agency has a flat snapshot; it has people, case periods, memberships,
//! reports, removals, contacts, assessments and incidents, each entered on a
//! day that is often later than the day it happened. This crate reads such an
//! extract ([`load()`]), validates each table with the snapshot's quarantine
//! (plus the table name, and the checks between tables), and builds the
//! snapshot of every open case as of a date ([`build::snapshot`]) or a
//! labelled training stack over many dates ([`build::stack`]). A fact counts
//! on a date only if it was recorded by then: [`Extract::known_on`] cuts an
//! extract to what was known on a date, and building from the cut gives the
//! same rows as building from the whole (the property the tests hold it to).
//!
//! The rules, one per snapshot column, are written in
//! `docs/extract-contract.md`; the tables are [`safeflag_core::extract_contract`].
#![deny(missing_docs)]

use std::path::PathBuf;

use polars::prelude::PolarsError;
use safeflag_core::{ErrorKind, Kinded};

pub mod build;
mod keys;
pub mod load;

pub use build::{
    BuildSummary, Built, LabelOptions, Stack, StackSummary, dates_every, labels_known_on, snapshot,
    stack,
};
pub use load::{Extract, ExtractMapping, LoadOptions, TableReport, extract_date, load, read};

/// Errors of reading an extract or building from it. Each names the
/// directory or file, the table and, where there is one, the column.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The extract directory has no `extract.toml`.
    #[error(
        "extract `{dir}` has no `extract.toml` (it names the extract date: `extracted-on = YYYY-MM-DD`)"
    )]
    NoExtractToml {
        /// The directory.
        dir: PathBuf,
    },
    /// `extract.toml` is unreadable or has no valid date.
    #[error("`{path}`: {message}")]
    ExtractToml {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A table's file is missing from the extract.
    #[error(
        "extract `{dir}` has no `{table}` table (expected `{table}.csv`, `.parquet` or `.arrow`)"
    )]
    MissingTable {
        /// The directory.
        dir: PathBuf,
        /// The table.
        table: &'static str,
    },
    /// Two files could be the same table.
    #[error("extract `{dir}` has two files for table `{table}`: `{first}` and `{second}`")]
    AmbiguousTable {
        /// The directory.
        dir: PathBuf,
        /// The table.
        table: &'static str,
        /// One file name.
        first: String,
        /// The other.
        second: String,
    },
    /// A table could not be read or validated.
    #[error("table `{table}`: {source}")]
    Table {
        /// The table.
        table: &'static str,
        /// What ingest said (it names the file and column).
        #[source]
        source: safeflag_ingest::Error,
    },
    /// Too large a share of a table broke the contract.
    #[error("table `{table}`: {failure}; first problem: row {}, column `{}` ({})", first.0, first.1, first.2)]
    Gate {
        /// The table.
        table: &'static str,
        /// The gate's finding.
        failure: Box<safeflag_ingest::GateFailure>,
        /// The first quarantined row: its number, column and rule.
        first: (u64, String, String),
    },
    /// The extract mapping file is invalid.
    #[error("mapping `{path}`: {message}")]
    Mapping {
        /// The mapping file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A date range or option that cannot be built.
    #[error("{0}")]
    Options(String),
    /// An output file could not be written.
    #[error(transparent)]
    Output(#[from] safeflag_core::output::OutputError),
    /// An unexpected failure inside the dataframe engine (a bug, not bad input).
    #[error("internal error in the dataframe engine: {0}")]
    Internal(#[from] PolarsError),
}

impl Kinded for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Internal(_) => ErrorKind::Internal,
            Error::Output(e) => e.kind(),
            Error::Table { source, .. } => source.kind(),
            Error::Gate { .. } => ErrorKind::Gate,
            _ => ErrorKind::Input,
        }
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
