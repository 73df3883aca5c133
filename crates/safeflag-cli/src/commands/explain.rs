//! `safeflag explain`: any scored child of a run, queued or not.

use safeflag_pipeline::Result;
use safeflag_pipeline::explain::{ExplainOptions, explain, write_html};
use safeflag_report::explain::IdKind;

use crate::cli::ExplainArgs;
use crate::printer::Printer;

pub fn run(args: ExplainArgs, printer: &Printer) -> Result<()> {
    let kind = match (args.child, args.case) {
        (true, _) => Some(IdKind::Child),
        (_, true) => Some(IdKind::Case),
        _ => None,
    };
    let e = explain(&ExplainOptions {
        run: args.run.clone(),
        id: args.id.clone(),
        kind,
        input: args.input.clone(),
        model: args.model.clone(),
    })?;
    if let Some(path) = &args.html {
        write_html(&e, path)?;
        printer.status(&format!("page: {}", path.display()));
    }
    if args.json {
        printer.json(&e)
    } else {
        printer.data(&crate::tables::explanation_table(&e));
        Ok(())
    }
}
