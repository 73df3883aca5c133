//! `safeflag compare`: two models' queues on the same snapshot or stack.

use safeflag_pipeline::Result;
use safeflag_pipeline::compare::{CompareOptions, compare};

use crate::cli::CompareArgs;
use crate::printer::Printer;

pub fn run(args: CompareArgs, printer: &Printer) -> Result<()> {
    let c = compare(&CompareOptions {
        input: args.input.clone(),
        model_a: args.model_a.clone(),
        model_b: args.model_b.clone(),
        policy: args.queue.policy()?,
        mapping: args.mapping.clone(),
        max_quarantine: args.max_quarantine,
    })?;
    if args.json {
        printer.json(&c)
    } else {
        printer.data(&crate::tables::compare_table(&c));
        Ok(())
    }
}
