//! Whose fault a failure is.
//!
//! A scheduler running the nightly job has to tell a broken extract from a
//! broken config from a bug without reading logs, so every library error
//! says which [`ErrorKind`] it is, and the binary maps kinds to exit codes in
//! one place. Unknown failures are never guessed to be the user's.

use std::fmt;

/// The kind of a failure, as the exit code reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The input, arguments, mapping, config or a model file is wrong: fix it
    /// and rerun (exit 1).
    Input,
    /// Not the input's fault: a bug, the dataframe engine, the history store,
    /// a broken invariant, or an output the machine could not write (exit 2).
    Internal,
    /// The data-quality gate tripped: too much of the extract broke the
    /// contract, and nothing was published (exit 3).
    Gate,
    /// Another nightly run holds the lock (exit 4).
    Locked,
}

impl ErrorKind {
    /// The kind of an I/O failure on a path the user named: a path that does
    /// not exist or may not be used is the user's; anything else (a full
    /// disk, a failing device) is the machine's.
    pub fn of_io(e: &std::io::Error) -> ErrorKind {
        use std::io::ErrorKind as K;
        match e.kind() {
            K::NotFound
            | K::PermissionDenied
            | K::AlreadyExists
            | K::NotADirectory
            | K::IsADirectory
            | K::InvalidInput
            | K::InvalidData
            | K::ReadOnlyFilesystem => ErrorKind::Input,
            _ => ErrorKind::Internal,
        }
    }

    /// The process exit code of this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Input => 1,
            ErrorKind::Internal => 2,
            ErrorKind::Gate => 3,
            ErrorKind::Locked => 4,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Input => "input",
            ErrorKind::Internal => "internal",
            ErrorKind::Gate => "gate",
            ErrorKind::Locked => "locked",
        })
    }
}

/// An error that knows its [`ErrorKind`]. Every safeflag library error
/// implements it.
pub trait Kinded {
    /// Whose fault the error is.
    fn kind(&self) -> ErrorKind;
}

impl Kinded for crate::output::OutputError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::of_io(&self.source)
    }
}

/// The longest value an error message quotes.
pub const QUOTE_CHARS: usize = 24;

/// A value as an error message may show it: quoted when it is short and on
/// one line, otherwise only its length. Never use it for identifiers (case,
/// child, worker ids): name their row and column instead.
pub fn quote_value(v: &str) -> String {
    let n = v.chars().count();
    if n <= QUOTE_CHARS && !v.contains(['\n', '\r']) {
        format!("`{v}`")
    } else {
        format!("a value of {n} characters")
    }
}

/// Another library's message with everything it quoted in backticks elided
/// and its length capped: readers quote whole records in their errors, and
/// an error must never carry case data.
pub fn redact_quoted(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default().trim();
    let mut out = String::new();
    for (i, part) in first.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        // Odd parts are inside backticks, an unclosed last one included.
        out.push_str(if i % 2 == 1 { "..." } else { part });
    }
    if out.chars().count() > 200 {
        out = out.chars().take(200).collect::<String>() + "...";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quote_only_short_values() {
        assert_eq!(quote_value("2025-13-01"), "`2025-13-01`");
        assert_eq!(quote_value(&"x".repeat(1000)), "a value of 1000 characters");
        assert_eq!(quote_value("a\nb"), "a value of 3 characters");
        assert_eq!(
            redact_quoted("could not parse `K1,Jane,2025` as dtype `str` at column 'x'\nmore"),
            "could not parse `...` as dtype `...` at column 'x'"
        );
        assert_eq!(redact_quoted("cut `K1,Jane"), "cut `...");
        assert_eq!(redact_quoted(&"y".repeat(500)).chars().count(), 203);
    }

    #[test]
    fn io_kinds_split_the_users_paths_from_the_machines_failures() {
        let e = |k| std::io::Error::from(k);
        assert_eq!(
            ErrorKind::of_io(&e(std::io::ErrorKind::NotFound)),
            ErrorKind::Input
        );
        assert_eq!(
            ErrorKind::of_io(&e(std::io::ErrorKind::PermissionDenied)),
            ErrorKind::Input
        );
        assert_eq!(
            ErrorKind::of_io(&e(std::io::ErrorKind::StorageFull)),
            ErrorKind::Internal
        );
        let codes: Vec<u8> = [
            ErrorKind::Input,
            ErrorKind::Internal,
            ErrorKind::Gate,
            ErrorKind::Locked,
        ]
        .map(ErrorKind::exit_code)
        .to_vec();
        assert_eq!(codes, [1, 2, 3, 4]);
    }
}
