//! `safeflag backtest`: resolve the arguments, run the rolling-origin
//! backtest through the pipeline, print the record.

use safeflag_extract::LabelOptions;
use safeflag_pipeline::backtest::{BacktestInput, BacktestOptions, backtest, default_candidates};
use safeflag_pipeline::{Error, Result};
use serde::Serialize;

use crate::cli::BacktestArgs;
use crate::printer::Printer;

/// `safeflag backtest --json`.
#[derive(Serialize)]
struct BacktestJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema_version: u32,
    backtest: &'a safeflag_model::backtest::BacktestRecord,
    /// The chosen model as written with --out.
    model: Option<String>,
}

pub fn run(args: BacktestArgs, printer: &Printer) -> Result<()> {
    let input = if args.input.is_dir() {
        let (Some(from), Some(to), Some(every_days)) =
            (args.stack.from, args.stack.to, args.stack.every)
        else {
            return Err(Error::input(format!(
                "backtesting extract `{}` needs the snapshot dates of its stack: --from, --to and --every",
                args.input.display()
            )));
        };
        BacktestInput::Extract {
            source: safeflag_pipeline::extract::ExtractSource {
                dir: args.input.clone(),
                mapping: args.labelled.mapping.clone(),
                max_quarantine: args.labelled.max_quarantine,
            },
            from,
            to,
            every_days,
        }
    } else {
        BacktestInput::Stack(args.input.clone())
    };
    let mut candidates = default_candidates(args.seed);
    if !args.candidates.is_empty() {
        if let Some(unknown) = args
            .candidates
            .iter()
            .find(|n| !candidates.iter().any(|c| &c.name == *n))
        {
            return Err(Error::input(format!(
                "no candidate is named `{unknown}`; the candidates are {}",
                candidates
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        candidates.retain(|c| args.candidates.contains(&c.name));
    }
    let done = backtest(&BacktestOptions {
        input,
        label: LabelOptions {
            window_days: args.stack.label_days,
            lag_days: args.stack.label_lag,
        },
        cutoffs: args.cutoffs as usize,
        period_days: args.period,
        first_cutoff: args.first_cutoff,
        capacity: args.capacity as usize,
        criterion: args.criterion,
        candidates,
        calibration_fraction: args.calibration_fraction,
        labelled: super::train::labelled(&args.labelled),
        keep: args.keep.clone(),
        out: args.out.clone(),
        force: args.force,
        synthetic: args.synthetic,
    })?;
    let model = done.trained.as_ref().map(|t| t.artifact.id());
    if args.json {
        printer.json(&BacktestJson {
            kind: "backtest",
            schema_version: 1,
            backtest: &done.record,
            model,
        })?;
    } else {
        let mut s = crate::tables::backtest_table(&done.record);
        if let (Some(id), Some(out)) = (&model, &args.out) {
            s.push_str(&format!(
                "\ntrained the chosen settings on every labelled row: {id}, written to {} (the backtest is in its model card)\n",
                out.display()
            ));
        }
        printer.data(&s);
    }
    printer.status(&format!(
        "backtest took {:.2}s: {}",
        done.stages.iter().map(|(_, s)| s).sum::<f64>(),
        done.stages
            .iter()
            .map(|(n, s)| format!("{n} {s:.2}s"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(())
}
