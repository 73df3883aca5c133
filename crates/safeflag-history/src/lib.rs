//! What the nightly job remembers between nights.
//!
//! # Brief overview
//! * [`Store`]: runs, flags and reviewer dispositions in one SQLite file
//!   (bundled SQLite, no system library). Every change is one transaction, so
//!   a crash leaves the store as it was before the change or after it.
//! * [`reviews`]: importing reviewer dispositions from CSV, all or nothing.
//! * [`state`]: the facts about a case that decide whether a change since its
//!   review is material: reports, infants in the home, an unrelated adult, the
//!   lead child's probability.
//! * [`suppress`]: the rule: a case reviewed in the last N days is not queued
//!   again unless something material changed since the flag that was reviewed.
//! * [`night`]: the history's part in one night: which reviewed cases are
//!   passed over, each queued case's status, the records kept of the night.
//! * [`outcomes`]: what happened to children after the nights they were
//!   scored, and the day the agency's record of it is complete through.
//! * [`lock`]: one nightly run at a time, naming the holder of the lock.
#![deny(missing_docs)]

pub mod lock;
pub mod measures;
pub mod night;
pub mod outcomes;
pub mod reviews;
pub mod state;
pub mod store;
pub mod suppress;

pub use lock::{LockHeld, RunLock};
pub use outcomes::{OutcomeImport, OutcomeRecord};
pub use state::{CaseState, case_states};
pub use store::{ActionVersion, FlagRecord, ReviewVersion, RunRecord, Store, WorkbookImport};
pub use suppress::{Decision, SuppressionPolicy, decide};

use std::path::PathBuf;

/// Errors of the history store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// SQLite failed.
    #[error("history store `{path}`: {source}")]
    Sqlite {
        /// The store file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The store was written by a newer safeflag.
    #[error("history store `{path}` has schema version {found}; this safeflag knows up to {known}")]
    Schema {
        /// The store file.
        path: PathBuf,
        /// Version in the file.
        found: i64,
        /// Newest version known.
        known: i64,
    },
    /// A reviews file is invalid; nothing was imported.
    #[error("reviews `{path}`: {problems} problem(s), nothing imported:\n{details}")]
    Reviews {
        /// The file.
        path: PathBuf,
        /// How many problems.
        problems: usize,
        /// One line per problem: row, column, what is wrong.
        details: String,
    },
    /// A file could not be read.
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
            // A bad reviews file, or a store written by a newer safeflag, is
            // the user's to fix; a store that fails underneath is not.
            Error::Reviews { .. } | Error::Schema { .. } => ErrorKind::Input,
            Error::Io { source, .. } => ErrorKind::of_io(source),
            Error::Sqlite { .. } | Error::Polars(_) => ErrorKind::Internal,
        }
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
