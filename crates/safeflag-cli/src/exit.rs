//! Exit codes, mapped from error kinds in this one place, so a scheduler can
//! tell a broken extract from a broken config from a bug without reading logs.

use safeflag_pipeline::ErrorKind;

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command did what was asked (0).
    Success,
    /// The command failed; the kind says whose fault it was.
    Failed(ErrorKind),
}

impl ExitStatus {
    /// The process exit code: 0 success, 1 input, 2 internal, 3 gate, 4 lock.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failed(kind) => kind.exit_code(),
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s.code())
    }
}
