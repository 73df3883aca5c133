//! Logging: only the CLI installs a subscriber. Logs go to stderr and carry
//! stage names and counts, never row-level case data.

use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber: warnings by default, `-v` info, `-vv`
/// debug, `-vvv` trace; `RUST_LOG` overrides all of them.
pub fn init(verbose: u8, quiet: bool, json: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => {
            "safeflag=info,safeflag_ingest=info,safeflag_synth=info,safeflag_history=info,warn"
        }
        (false, 2) => "safeflag=debug,safeflag_ingest=debug,safeflag_synth=debug,info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    use std::io::IsTerminal;
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if json {
        builder.json().with_current_span(true).try_init()
    } else {
        builder.with_ansi(color).try_init()
    };
}
