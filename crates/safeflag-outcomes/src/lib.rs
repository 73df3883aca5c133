//! What happened after the flags.
//!
//! An agency that runs safeflag every night must be able to see, once the
//! outcomes are known, how its past queues did: how many children later
//! hurt had been flagged, how precise the queue was at the size reviewers
//! could staff, whether the probabilities stayed honest, for every office
//! and group. This crate does that without re-scoring anything: it reads the
//! history's flags and each run's own score file as they are.
//!
//! # Brief overview
//! * [`read`]: outcomes from a file (the outcomes contract,
//!   [`safeflag_core::outcome_contract`]), checked all or nothing, or from a
//!   read extract's incidents, reports and removals.
//! * [`mod@look_back`]: for each past night (and month), its window's state,
//!   realised precision and recall at the queue's size with intervals,
//!   calibration against realised outcomes, and the breakdowns; a window
//!   that has not closed is never read as "no outcome".
#![deny(missing_docs)]

pub mod look_back;
pub mod read;

pub use look_back::{
    GroupResult, LookBack, LookBackOptions, MonthResult, Night, NightResult, Pooled, QueueSize,
    ScoredChild, look_back,
};
pub use read::{OutcomesRead, from_extract, read_file};

use std::path::PathBuf;

/// Errors of reading outcomes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The outcomes file breaks its contract; nothing was imported.
    #[error(
        "outcomes `{path}`: row {row}, column `{column}`: {rule} ({problems} problem(s) in all); nothing imported"
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The first bad row (1-based data row).
        row: u64,
        /// Its column.
        column: String,
        /// What is wrong.
        rule: String,
        /// How many problems the file has.
        problems: usize,
    },
    /// The file could not be read at all (format, missing column, ...).
    #[error(transparent)]
    Ingest(#[from] safeflag_ingest::Error),
    /// The extract could not be read.
    #[error(transparent)]
    Extract(#[from] safeflag_extract::Error),
    /// A source file could not be hashed.
    #[error("`{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An unexpected failure inside the dataframe engine.
    #[error("internal error in the dataframe engine: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
}

impl safeflag_core::Kinded for Error {
    fn kind(&self) -> safeflag_core::ErrorKind {
        use safeflag_core::ErrorKind;
        match self {
            Error::Invalid { .. } => ErrorKind::Input,
            Error::Io { source, .. } => ErrorKind::of_io(source),
            Error::Ingest(e) => e.kind(),
            Error::Extract(e) => e.kind(),
            Error::Polars(_) => ErrorKind::Internal,
        }
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
