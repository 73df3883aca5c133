//! Logging: only the CLI installs a subscriber. Logs go to stderr (through
//! the progress bar when one is drawn) and carry stage names and counts,
//! never row-level case data.

use tracing_subscriber::EnvFilter;

/// The filter of a verbosity: warnings by default, `-v` info, `-vv` debug,
/// `-vvv` trace for safeflag's own crates. A target is a prefix, so
/// `safeflag` covers every `safeflag_*` crate; other crates stay at warnings
/// (info at `-vvv`).
pub fn level(verbose: u8, quiet: bool) -> &'static str {
    match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "warn,safeflag=info",
        (false, 2) => "warn,safeflag=debug",
        _ => "info,safeflag=trace",
    }
}

/// Installs the stderr subscriber at [`level`]; `RUST_LOG` overrides it.
pub fn init(verbose: u8, quiet: bool, json: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level(verbose, quiet)));
    use std::io::IsTerminal;
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::progress::log_writer)
        .with_target(false);
    let _ = if json {
        builder.json().with_current_span(true).try_init()
    } else {
        builder.with_ansi(color).try_init()
    };
}
