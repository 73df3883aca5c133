//! `safeflag train`: resolve the arguments, train through the pipeline,
//! print the result.

use safeflag_model::TrainParams;
use safeflag_model::fairness::FairnessOptions;
use safeflag_pipeline::extract::{Dates, ExtractSource, stack_for_training};
use safeflag_pipeline::reports::TrainingJson;
use safeflag_pipeline::training::{
    Families, FeatureChoice, LabelledOptions, SplitPlan, TrainOptions, train,
};
use safeflag_pipeline::{Result, thousands};

use crate::cli::{LabelledArgs, TrainArgs};
use crate::printer::Printer;
use crate::tables::{evaluation_table, fairness_table};

pub fn run(args: TrainArgs, printer: &Printer) -> Result<()> {
    let t0 = std::time::Instant::now();
    // An extract directory: its stack is built first, into a temporary file.
    let stack = if args.input.is_dir() {
        let source = ExtractSource {
            dir: args.input.clone(),
            mapping: args.labelled.mapping.clone(),
            max_quarantine: args.labelled.max_quarantine,
        };
        let dates = args.stack.dates().unwrap_or(Dates::AsOf(None));
        let (path, doc) = stack_for_training(&source, dates)?;
        let s = doc.stack.as_ref();
        printer.status(&format!(
            "built a training stack of {} rows ({} with an incident) from extract {}",
            thousands(s.map_or(0, |s| s.rows) as u64),
            thousands(s.map_or(0, |s| s.positives) as u64),
            args.input.display()
        ));
        let (from, to, every) = (args.stack.from, args.stack.to, args.stack.every);
        let name = format!(
            "extract {} as of {}..{} every {} days",
            args.input.display(),
            from.map(|d| d.to_string()).unwrap_or_default(),
            to.map(|d| d.to_string()).unwrap_or_default(),
            every.unwrap_or(0)
        );
        Some((path, name))
    } else {
        None
    };
    let options = TrainOptions {
        input: stack
            .as_ref()
            .map_or_else(|| args.input.clone(), |(p, _)| p.to_path_buf()),
        input_name: stack.as_ref().map(|(_, name)| name.clone()),
        out: args.out.clone(),
        force: args.force,
        params: TrainParams {
            kind: args.model,
            features: args.features.unwrap_or_default(),
            l2: args.l2,
            max_iterations: args.max_iterations,
            gbm_trees: args.gbm_trees,
            gbm_learning_rate: args.gbm_learning_rate,
            gbm_max_depth: args.gbm_max_depth,
            gbm_early_stopping: args.gbm_early_stopping.map(|n| n as usize),
            seed: args.seed,
        },
        split: match args.test_fraction {
            Some(f) => SplitPlan::ByCase {
                test_fraction: f,
                seed: args.seed,
            },
            None => SplitPlan::ByTime {
                cutoff: args.split_date,
            },
        },
        calibration_fraction: args.calibration_fraction,
        k: args.k,
        labelled: labelled(&args.labelled),
        synthetic: args.synthetic,
        prompts: args.prompts.clone(),
        backtest: None,
        families: match (args.compare_families, args.choose_family) {
            (_, true) => Families::Choose,
            (true, false) => Families::Compare,
            _ => Families::Requested,
        },
        features: if args.features.is_some() {
            FeatureChoice::Given
        } else {
            FeatureChoice::Choose
        },
    };
    let trained = train(&options)?;
    let (artifact, c) = (&trained.artifact, &trained.artifact.content);
    if args.json {
        printer.json(&TrainingJson::of(&trained, args.out.clone()))?;
    } else {
        let t = &c.training;
        let mut s = format!(
            "trained {} ({}) on {} rows ({} fit, {} calibration); {}\n\n",
            artifact.id(),
            c.estimator.kind().as_str(),
            t.rows_read,
            t.rows_fit,
            t.rows_calibration,
            t.split
        );
        if !t.families.is_empty() {
            s.push_str("families on the same held-out rows:\n");
            s.push_str(&crate::tables::families_table(&t.families));
            s.push('\n');
        }
        s.push_str(&evaluation_table(&c.evaluation, None));
        s.push_str(&fairness_table(&c.fairness));
        s.push_str(&format!(
            "\nwritten to {} (model.json, model-card.md)\n",
            args.out.display()
        ));
        printer.data(&s);
    }
    printer.status(&format!(
        "train took {:.2}s: {}",
        t0.elapsed().as_secs_f64(),
        trained
            .stages
            .iter()
            .map(|(n, s)| format!("{n} {s:.2}s"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(())
}

/// The labelled-input options of `train` and `evaluate`.
pub fn labelled(args: &LabelledArgs) -> LabelledOptions {
    LabelledOptions {
        mapping: args.mapping.clone(),
        max_quarantine: args.max_quarantine,
        fairness: FairnessOptions {
            reference: args.fairness_reference.clone(),
            min_positives: args.fairness_min_positives,
        },
    }
}
