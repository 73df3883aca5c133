//! The `safeflag` command: a thin shell over the safeflag libraries.
//!
//! Parsing, settings, logging, output and exit codes live here; every piece
//! of real work is a library call. Errors are printed once, as one line, and
//! mapped to an exit code that says what kind of failure it was (see
//! [`exit::ExitStatus`]).

mod cli;
mod commands;
mod config;
mod exit;
mod logging;
mod printer;

use clap::Parser as _;

/// mimalloc instead of the system allocator: polars allocates and frees
/// column-sized buffers all the time, and glibc hands each large one back to
/// the kernel, which then spends its time zeroing fresh pages (28% of a
/// 5M-row scoring run in `perf`). mimalloc reuses them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;
use crate::printer::Printer;

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Usage errors are user errors (exit 1); help and version are not errors.
            let _ = err.print();
            return if err.use_stderr() {
                ExitStatus::User.into()
            } else {
                ExitStatus::Success.into()
            };
        }
    };
    logging::init(cli.global.verbose, cli.global.quiet, cli.global.log_json);
    let printer = Printer::new(cli.global.quiet);
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(args, &printer),
        Command::Generate(args) => commands::generate::run(args, &printer),
        Command::Train(args) => commands::train::run(args, &printer),
        Command::Evaluate(args) => commands::evaluate::run(args, &printer),
        Command::Score(args) => commands::score::run(args, &printer),
        Command::Export(args) => commands::report::export(args, &printer),
        Command::Report(args) => commands::report::report(args, &printer),
        Command::Nightly(args) => commands::nightly::run(args, &printer),
        Command::Reviews(cli::ReviewsCommand::Import(args)) => {
            commands::nightly::import_reviews(args, &printer)
        }
        Command::Runs(args) => commands::nightly::runs(args, &printer),
        Command::History(args) => commands::nightly::history(args, &printer),
    };
    let status = match result {
        Ok(status) => status,
        Err(err) => {
            let status = ExitStatus::of_error(&err);
            printer.error(&err, status);
            status
        }
    };
    status.into()
}
