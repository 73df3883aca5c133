//! `safeflag completions SHELL` and `safeflag man`: generated from the clap
//! definitions, so they never drift from the commands.

use clap::CommandFactory as _;
use safeflag_pipeline::{Error, Result};

use crate::cli::{Cli, CompletionsArgs};
use crate::printer::Printer;

pub fn completions(args: CompletionsArgs, printer: &Printer) -> Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "safeflag", &mut out);
    printer.data(&String::from_utf8_lossy(&out));
    Ok(())
}

pub fn man(printer: &Printer) -> Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| Error::internal(format!("rendering the man page: {e}")))?;
    printer.data(&String::from_utf8_lossy(&out));
    Ok(())
}
