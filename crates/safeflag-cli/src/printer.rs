//! The only place that writes to stdout and stderr. Stdout carries data (a
//! report, JSON); stderr carries status lines and errors.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;

use safeflag_pipeline::{Error, ErrorKind};

/// Where command output goes.
pub struct Printer {
    quiet: bool,
}

impl Printer {
    /// A printer; `quiet` silences status lines (data and errors still print).
    pub fn new(quiet: bool) -> Printer {
        Printer { quiet }
    }

    /// Whether status output is silenced.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Writes data to stdout. A closed pipe (`| head`) is not an error.
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
    }

    /// Writes a document as pretty JSON to stdout.
    pub fn json<T: serde::Serialize>(&self, doc: &T) -> Result<(), Error> {
        self.data(&format!("{}\n", serde_json::to_string_pretty(doc)?));
        Ok(())
    }

    /// A status line on stderr, unless quiet.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// The one-line error report.
    pub fn error(&self, err: &Error) {
        let label = match err.kind() {
            ErrorKind::Internal => "internal error",
            _ => "error",
        };
        eprintln!("{label}: {err}");
    }
}
