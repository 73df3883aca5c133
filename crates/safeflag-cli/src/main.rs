//! The `safeflag` command: a thin shell over the safeflag libraries.
//!
//! Parsing, settings, logging, output and exit codes live here; every piece
//! of real work is a library call. Errors are printed once, as one line, and
//! mapped to an exit code that says what kind of failure it was (see
//! [`exit::ExitStatus`]).

mod cli;
mod commands;
mod exit;
mod logging;
mod printer;

use clap::Parser as _;

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
    logging::init(cli.global.verbose, cli.global.quiet);
    let printer = Printer::new(cli.global.quiet);
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(args, &printer),
        Command::Generate(args) => commands::generate::run(args, &printer),
        Command::Train(args) => commands::train::run(args, &printer),
        Command::Evaluate(args) => commands::evaluate::run(args, &printer),
        Command::Score(args) => commands::score::run(args, &printer),
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
