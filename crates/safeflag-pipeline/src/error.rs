//! The pipeline's error: a message chain and its [`ErrorKind`].
//!
//! Every crate's error converts into it keeping the kind its crate gave it;
//! failures the pipeline finds itself are made with [`Error::input`] or
//! [`Error::internal`], so each site says whose fault it is. There is no
//! conversion from an untyped error: nothing falls to a default kind.

use std::fmt;
use std::path::Path;

use safeflag_core::{ErrorKind, Kinded};

/// A failure of a run, with whose fault it is.
pub struct Error {
    kind: ErrorKind,
    inner: anyhow::Error,
}

/// The result type of the pipeline.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The input, arguments, config, mapping or model file is wrong.
    pub fn input(message: impl fmt::Display) -> Error {
        Error {
            kind: ErrorKind::Input,
            inner: anyhow::anyhow!("{message}"),
        }
    }

    /// Not the input's fault: a bug or a broken invariant.
    pub fn internal(message: impl fmt::Display) -> Error {
        Error {
            kind: ErrorKind::Internal,
            inner: anyhow::anyhow!("{message}"),
        }
    }

    /// An I/O failure on `path` while doing `what`: the user's when the path
    /// does not exist or may not be used, the machine's otherwise.
    pub fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
        Error {
            kind: ErrorKind::of_io(&e),
            inner: anyhow::Error::new(e).context(format!("{what} `{}`", path.display())),
        }
    }

    /// Whose fault it is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Adds what was being done, keeping the kind.
    pub fn context(self, what: impl fmt::Display + Send + Sync + 'static) -> Error {
        Error {
            kind: self.kind,
            inner: self.inner.context(what),
        }
    }

    /// The first cause of type `T` in the chain.
    pub fn find<T: std::error::Error + Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.chain().find_map(|c| c.downcast_ref::<T>())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.inner)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error: {:?}", self.kind, self.inner)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}

/// Conversions that keep the kind each crate gives its errors.
macro_rules! kinded {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Error {
                Error { kind: Kinded::kind(&e), inner: anyhow::Error::new(e) }
            }
        }
    )*};
}

kinded!(
    safeflag_core::output::OutputError,
    safeflag_ingest::Error,
    safeflag_extract::Error,
    safeflag_ingest::GateFailure,
    safeflag_features::Error,
    safeflag_model::Error,
    safeflag_score::Error,
    safeflag_report::Error,
    safeflag_history::Error,
    safeflag_review::Error,
    safeflag_history::LockHeld,
    safeflag_history::lock::LockError,
    safeflag_outcomes::Error,
    safeflag_sql::Error,
    safeflag_onnx::Error,
);

/// A failure inside the dataframe engine is never the input's.
impl From<polars::prelude::PolarsError> for Error {
    fn from(e: polars::prelude::PolarsError) -> Error {
        Error {
            kind: ErrorKind::Internal,
            inner: anyhow::Error::new(e).context("internal error in the dataframe engine"),
        }
    }
}

/// Serialising our own types cannot fail on good data: a failure is a bug.
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error {
            kind: ErrorKind::Internal,
            inner: anyhow::Error::new(e).context("serialising JSON"),
        }
    }
}

/// Adds context to any result whose error converts into [`Error`].
pub trait Context<T> {
    /// Adds what was being done, keeping the kind.
    fn context(self, what: impl fmt::Display + Send + Sync + 'static) -> Result<T>;
    /// Adds what was being done, computed only on failure.
    fn with_context<C: fmt::Display + Send + Sync + 'static>(
        self,
        what: impl FnOnce() -> C,
    ) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display + Send + Sync + 'static) -> Result<T> {
        self.map_err(|e| e.into().context(what))
    }
    fn with_context<C: fmt::Display + Send + Sync + 'static>(
        self,
        what: impl FnOnce() -> C,
    ) -> Result<T> {
        self.map_err(|e| e.into().context(what()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_survive_conversion_and_context() {
        let gate = safeflag_ingest::GateFailure {
            share: 0.5,
            limit: 0.05,
            rows_quarantined: 5,
            rows_read: 10,
            worst_columns: vec![],
        };
        let e = Error::from(gate).context("tonight");
        assert_eq!(e.kind(), ErrorKind::Gate);
        assert!(
            e.to_string().starts_with("tonight: data-quality gate"),
            "{e}"
        );
        assert!(e.find::<safeflag_ingest::GateFailure>().is_some());
        let polars = polars::prelude::PolarsError::ComputeError("boom".into());
        assert_eq!(Error::from(polars).kind(), ErrorKind::Internal);
        assert_eq!(Error::input("x").kind(), ErrorKind::Input);
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert_eq!(
            Error::io("writing", Path::new("/x"), full).kind(),
            ErrorKind::Internal
        );
    }
}
