//! The `safeflag` command: a thin shell over the safeflag libraries.
//!
//! Each command parses its arguments, resolves them into the pipeline's
//! settings, calls one library function and prints what it returns. Errors
//! are printed once, as one line, and mapped to an exit code by their kind
//! (see [`exit::ExitStatus`]).

mod cli;
mod commands;
mod exit;
mod logging;
mod printer;
mod progress;
mod tables;

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
            // Usage errors are input errors (exit 1); help and version are not errors.
            let _ = err.print();
            return if err.use_stderr() {
                ExitStatus::Failed(safeflag_pipeline::ErrorKind::Input).into()
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
        Command::Snapshot(args) => commands::snapshot::run(args, &printer),
        Command::Train(args) => commands::train::run(args, &printer),
        Command::Evaluate(args) => commands::evaluate::run(args, &printer),
        Command::Backtest(args) => commands::backtest::run(args, &printer),
        Command::Compare(args) => commands::compare::run(args, &printer),
        Command::Score(args) => commands::score::run(args, &printer),
        Command::Export(args) => commands::report::export(args, &printer),
        Command::Report(args) => commands::report::report(args, &printer),
        Command::Explain(args) => commands::explain::run(args, &printer),
        Command::Nightly(args) => commands::nightly::run(args, &printer),
        Command::Reviews(cli::ReviewsCommand::Import(args)) => {
            commands::reviews::import_reviews(args, &printer)
        }
        Command::Reviews(cli::ReviewsCommand::Report(args)) => {
            commands::reviews::reviews_report(args, &printer)
        }
        Command::Outcomes(cli::OutcomesCommand::Import(args)) => {
            commands::outcomes::import(args, &printer)
        }
        Command::Outcomes(cli::OutcomesCommand::Report(args)) => {
            commands::outcomes::report(args, &printer)
        }
        Command::Model(cli::ModelCommand::Sql(args)) => commands::model::sql(args, &printer),
        Command::Model(cli::ModelCommand::Onnx(args)) => commands::model::onnx(args, &printer),
        Command::Runs(args) => commands::history::runs(args, &printer),
        Command::History(args) => commands::history::history(args, &printer),
        Command::Completions(args) => commands::shell::completions(args, &printer),
        Command::Man => commands::shell::man(&printer),
    };
    match result {
        Ok(()) => ExitStatus::Success,
        Err(err) => {
            printer.error(&err);
            ExitStatus::Failed(err.kind())
        }
    }
    .into()
}
