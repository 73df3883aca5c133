//! `safeflag evaluate`: a saved model's metrics and fairness on labelled data,
//! optionally beside the generator's ground truth for the same rows.

use safeflag_pipeline::Result;
use safeflag_pipeline::reports::EvaluationJson;
use safeflag_pipeline::training::{EvaluateOptions, evaluate_model};

use crate::cli::EvaluateArgs;
use crate::printer::Printer;
use crate::tables::{evaluation_table, fairness_table};

pub fn run(args: EvaluateArgs, printer: &Printer) -> Result<()> {
    let evaluated = evaluate_model(&EvaluateOptions {
        input: args.input.clone(),
        model: args.model.clone(),
        k: args.k,
        truth: args.truth.clone(),
        labelled: super::train::labelled(&args.labelled),
    })?;
    if args.json {
        printer.json(&EvaluationJson::of(&evaluated, args.input.clone()))?;
    } else {
        let mut s = format!(
            "evaluated {} on {}\n",
            evaluated.model.artifact.id(),
            args.input.display()
        );
        s.push_str(&evaluation_table(
            &evaluated.evaluation,
            evaluated.truth.as_ref(),
        ));
        if !evaluated.against_truth.is_empty() {
            s.push_str(&crate::tables::truth_groups_table(&evaluated.against_truth));
        }
        s.push_str(&fairness_table(&evaluated.fairness));
        printer.data(&s);
    }
    Ok(())
}
