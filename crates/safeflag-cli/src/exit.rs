//! Exit codes. Each kind of failure has its own, so a scheduler can tell a
//! broken extract from a broken config from a bug without reading logs.

use safeflag_ingest::GateFailure;

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command did what was asked.
    Success,
    /// Bad input, arguments, mapping or config: fix the input and rerun.
    User,
    /// A bug in safeflag.
    Internal,
    /// The data-quality gate tripped: too much of the extract broke the contract.
    Gate,
    /// Another nightly run holds the lock.
    Locked,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::User => 1,
            ExitStatus::Internal => 2,
            ExitStatus::Gate => 3,
            ExitStatus::Locked => 4,
        }
    }

    /// Classifies an error by the first typed cause found in its chain.
    pub fn of_error(err: &anyhow::Error) -> ExitStatus {
        for cause in err.chain() {
            if cause.downcast_ref::<GateFailure>().is_some() {
                return ExitStatus::Gate;
            }
            if cause.downcast_ref::<safeflag_history::LockHeld>().is_some() {
                return ExitStatus::Locked;
            }
            if let Some(e) = cause.downcast_ref::<safeflag_ingest::Error>() {
                return if e.is_internal() {
                    ExitStatus::Internal
                } else {
                    ExitStatus::User
                };
            }
        }
        ExitStatus::User
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s.code())
    }
}
