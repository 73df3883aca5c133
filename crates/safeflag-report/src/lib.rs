//! Reading a finished run for the people who act on it.
//!
//! # Brief overview
//! * [`manifest`]: the typed `manifest.json` every run writes and every
//!   reader of a run reads.
//! * [`RunDir`]: a published run directory (manifest, queue, scores,
//!   quarantine), checked to be complete before anything is read from it.
//! * [`export()`]: one file per office or supervisor, holding only that
//!   recipient's cases, in Excel or CSV, with an export manifest.
//! * [`Summary`]: what an analyst looks at: the queue against capacity,
//!   reasons, quarantine, counts, fairness and drift, as JSON (the binary
//!   prints it as tables).
//! * [`html::render`]: the same summary as one self-contained HTML page with
//!   SVG charts (no scripts, no network).
//! * [`explain::render`]: one scored child explained (`safeflag explain
//!   --html`).
//! * [`look_back::render`]: the look back at past queues (`safeflag
//!   outcomes report --html`) as the same kind of page.
#![deny(missing_docs)]

pub mod chart;
pub mod explain;
pub mod export;
pub mod html;
pub mod look_back;
pub mod manifest;
pub mod review_sheets;
mod run;
pub mod summary;

pub use export::{ExportFormat, ExportManifest, Recipient, export};
pub use manifest::RunManifest;
pub use run::RunDir;
pub use summary::Summary;

use std::path::PathBuf;

/// Errors of reading a run and writing its exports and reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The run directory is not a complete, successful run.
    #[error("run `{dir}`: {message}")]
    Run {
        /// The run directory.
        dir: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("`{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The workbook could not be built.
    #[error("writing the workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// Writing an output failed.
    #[error(transparent)]
    Output(#[from] safeflag_core::output::OutputError),
    /// A CSV or frame could not be written.
    #[error(transparent)]
    Ingest(#[from] safeflag_ingest::Error),
    /// An unexpected failure inside the dataframe engine.
    #[error("internal error in the dataframe engine: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
    /// The manifest could not be parsed.
    #[error("manifest: {0}")]
    Json(#[from] serde_json::Error),
}

impl safeflag_core::Kinded for Error {
    fn kind(&self) -> safeflag_core::ErrorKind {
        use safeflag_core::ErrorKind;
        match self {
            // A run directory that is not a finished run, or a file of it that
            // cannot be read, is what the user pointed at.
            Error::Run { .. } | Error::Json(_) => ErrorKind::Input,
            Error::Io { source, .. } => ErrorKind::of_io(source),
            Error::Output(e) => safeflag_core::Kinded::kind(e),
            Error::Ingest(e) => safeflag_core::Kinded::kind(e),
            Error::Xlsx(_) | Error::Polars(_) => ErrorKind::Internal,
        }
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
