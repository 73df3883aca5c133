//! `safeflag evaluate`: a saved model's metrics and fairness on labelled data,
//! optionally beside the generator's ground truth for the same rows.

use anyhow::bail;
use polars::prelude::*;
use safeflag_features::labels;
use safeflag_model::ModelArtifact;
use safeflag_model::evaluate::evaluate;
use serde_json::json;

use super::modeling::{evaluation_table, fairness_audits, fairness_table, load_labelled, predict};
use crate::cli::EvaluateArgs;
use crate::exit::ExitStatus;
use crate::printer::Printer;

pub fn run(args: EvaluateArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let model = ModelArtifact::load(&args.model)?;
    let validated = load_labelled(&args.input, &args.labelled)?;
    let cases = &validated.cases;
    let p = predict(&model, cases)?;
    let y = labels(cases)?;
    let evaluation = evaluate(&p, &y, args.k)?;
    let fairness = fairness_audits(cases, &p, &y, &args.labelled.fairness_options())?;
    let truth = match &args.truth {
        Some(path) => Some(evaluate(&truth_for(cases, path)?, &y, args.k)?),
        None => None,
    };
    if args.json {
        let v = json!({
            "type": "evaluation",
            "schema_version": 1,
            "model": model.id(),
            "input": args.input,
            "rows_read": validated.report.rows_read,
            "rows_quarantined": validated.report.rows_quarantined,
            "evaluation": evaluation,
            "ground_truth": truth,
            "fairness": fairness,
        });
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    } else {
        let mut s = format!("evaluated {} on {}\n", model.id(), args.input.display());
        s.push_str(&evaluation_table(&evaluation, truth.as_ref()));
        s.push_str(&fairness_table(&fairness));
        printer.data(&s);
    }
    Ok(ExitStatus::Success)
}

/// The true probability of each case row, joined on (child_id, snapshot_date).
fn truth_for(cases: &DataFrame, path: &std::path::Path) -> anyhow::Result<Vec<f64>> {
    let truth = ingest_truth(path)?;
    let keyed = cases
        .clone()
        .lazy()
        .select([col("child_id"), col("snapshot_date")])
        .with_row_index("__row", None)
        .join(
            truth.lazy(),
            [col("child_id"), col("snapshot_date")],
            [col("child_id"), col("snapshot_date")],
            JoinArgs::new(JoinType::Left),
        )
        .sort(["__row"], SortMultipleOptions::default())
        .collect()?;
    let p = keyed.column(safeflag_synth::TRUE_PROBABILITY)?.f64()?;
    if p.null_count() > 0 {
        bail!(
            "`{}` has no true probability for {} of the rows",
            path.display(),
            p.null_count()
        );
    }
    Ok(p.into_no_null_iter().collect())
}

fn ingest_truth(path: &std::path::Path) -> anyhow::Result<DataFrame> {
    // Reuse the reader, not the contract: the truth file is not a case snapshot.
    let format = safeflag_ingest::InputFormat::from_path(path)?;
    let df = safeflag_ingest::read::read_raw(path, format)?;
    let out = df
        .lazy()
        .select([
            col("child_id").cast(DataType::String),
            col("snapshot_date")
                .cast(DataType::String)
                .str()
                .to_date(StrptimeOptions::default()),
            col(safeflag_synth::TRUE_PROBABILITY).cast(DataType::Float64),
        ])
        .collect();
    anyhow::Context::with_context(out, || {
        format!("reading the truth file `{}`", path.display())
    })
}
