//! The review loop: what happens after a flag.
//!
//! The score only chooses which cases get a review; the review and the
//! coaching are the intervention. A reviewer reads each flagged case against
//! a short instrument of critical practices ([`instrument`]), records the
//! family's protective factors, consults the worker and supervisor, and
//! agrees actions that are tracked to completion.
#![deny(missing_docs)]

use std::path::PathBuf;

use safeflag_core::{ErrorKind, Kinded};

pub mod calendar;
pub mod instrument;
pub mod measures;
pub mod returned;
pub mod schedule;
pub mod sheet;

pub use instrument::{CaseFacts, Instrument, Item, Rating};

/// What a review concluded: the reviewer coached the worker and supervisor,
/// found no concerns, escalated the case, or overrode the flag (with a reason).
pub const DISPOSITIONS: [&str; 4] = ["coached", "no_concerns", "escalated", "override"];

/// Errors of the review loop. Each names its file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An instrument file is unreadable or breaks its rules.
    #[error("instrument `{path}`: {message}")]
    Instrument {
        /// The file.
        path: PathBuf,
        /// What is wrong (one line).
        message: String,
    },
    /// A returned workbook is invalid; nothing was imported.
    #[error("workbook `{path}`: {problems} problem(s), nothing imported:\n{details}")]
    Workbook {
        /// The file.
        path: PathBuf,
        /// How many problems.
        problems: usize,
        /// One line per problem: file, sheet, row, column, what is wrong.
        details: String,
    },
}

impl Kinded for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Instrument { .. } | Error::Workbook { .. } => ErrorKind::Input,
        }
    }
}

/// A review-loop result.
pub type Result<T> = std::result::Result<T, Error>;
