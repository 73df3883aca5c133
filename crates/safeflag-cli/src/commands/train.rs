//! `safeflag train`: fit, calibrate, evaluate and audit a model, then write
//! its verified artifact and model card.

use std::time::Instant;

use anyhow::Context;
use safeflag_core::FeatureSpec;
use safeflag_core::contract::{COLUMNS, Presence};
use safeflag_core::output::{sha256_file, write_bytes_atomic};
use safeflag_features::{SplitPlan, build_matrix, labels, partition_by_case, split};
use safeflag_model::artifact::{CARD_FILE, FORMAT_VERSION};
use safeflag_model::calibration::{Bands, Platt};
use safeflag_model::distribution::FeatureDistribution;
use safeflag_model::evaluate::evaluate;
use safeflag_model::{
    ModelArtifact, ModelContent, ModelKind, TrainParams, TrainingInfo, card, fit,
};
use serde_json::json;

use super::modeling::{
    evaluation_table, fairness_audits, fairness_table, load_labelled, probabilities, take,
};
use crate::cli::{ModelChoice, TrainArgs};
use crate::exit::ExitStatus;
use crate::printer::Printer;

pub fn run(args: TrainArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let t0 = Instant::now();
    let mut stages: Vec<(&str, f64)> = Vec::new();
    let mut lap = {
        let mut last = Instant::now();
        move |name: &'static str, stages: &mut Vec<(&str, f64)>| {
            stages.push((name, last.elapsed().as_secs_f64()));
            last = Instant::now();
        }
    };

    let validated = load_labelled(&args.input, &args.labelled)?;
    let cases = &validated.cases;
    lap("read+validate", &mut stages);

    let plan = match args.test_fraction {
        Some(f) => SplitPlan::ByCase {
            test_fraction: f,
            seed: args.seed,
        },
        None => SplitPlan::ByTime {
            cutoff: args.split_date,
        },
    };
    let sp = split(cases, &plan)?;
    let case_ids = cases.column("case_id")?.str()?.clone();
    let (cal_rows, fit_rows) = partition_by_case(
        &case_ids,
        &sp.train,
        args.calibration_fraction,
        args.seed ^ 0x5eed,
    );
    let spec = FeatureSpec::standard();
    let x = build_matrix(cases, &spec)?;
    let y = labels(cases)?;
    let pick = |rows: &[usize]| rows.iter().map(|&i| y[i]).collect::<Vec<bool>>();
    let (x_fit, y_fit) = (x.take_rows(&fit_rows), pick(&fit_rows));
    let (x_cal, y_cal) = (x.take_rows(&cal_rows), pick(&cal_rows));
    let (x_test, y_test) = (x.take_rows(&sp.test), pick(&sp.test));
    lap("split+features", &mut stages);

    let params = TrainParams {
        kind: match args.model {
            ModelChoice::Logistic => ModelKind::Logistic,
            ModelChoice::Gbm => ModelKind::Gbm,
        },
        l2: args.l2,
        max_iterations: args.max_iterations,
        gbm_trees: args.gbm_trees,
        gbm_learning_rate: args.gbm_learning_rate,
        gbm_max_depth: args.gbm_max_depth,
        seed: args.seed,
    };
    let estimator = fit(&x_fit, &y_fit, &params)?;
    lap("fit", &mut stages);

    let calibration = Platt::fit(&estimator.log_odds(&x_cal), &y_cal)?;
    let p_cal = probabilities(&estimator, &calibration, &x_cal);
    let bands = Bands::fit(&p_cal);
    lap("calibrate", &mut stages);

    let p_test = probabilities(&estimator, &calibration, &x_test);
    let evaluation = evaluate(&p_test, &y_test, args.k)?;
    let test_cases = take(cases, &sp.test)?;
    let fairness_options = args.labelled.fairness_options();
    let fairness = fairness_audits(&test_cases, &p_test, &y_test, &fairness_options)?;
    lap("evaluate", &mut stages);

    let distributions = (0..x_fit.cols())
        .map(|j| {
            FeatureDistribution::fit(
                &x_fit.names()[j],
                x_fit.column(j).as_slice().expect("column-major"),
            )
        })
        .collect();
    let missing_rates = COLUMNS
        .iter()
        .filter(|c| c.presence == Presence::Optional || c.presence == Presence::RequiredColumn)
        .filter_map(|c| {
            let col = cases.column(c.name).ok()?;
            Some((
                c.name.to_string(),
                col.null_count() as f64 / cases.height().max(1) as f64,
            ))
        })
        .collect();
    let (first_date, last_date) = super::snapshot_dates(cases)?;
    let name = args
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .context("--out must name a directory")?;
    let training = TrainingInfo {
        input: args
            .input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        input_sha256: sha256_file(&args.input)
            .with_context(|| format!("hashing `{}`", args.input.display()))?,
        rows_read: validated.report.rows_read,
        rows_quarantined: validated.report.rows_quarantined,
        rows_fit: fit_rows.len(),
        rows_calibration: cal_rows.len(),
        rows_test: sp.test.len(),
        rows_excluded: sp.excluded.len(),
        split: match (&plan, sp.cutoff) {
            (SplitPlan::ByTime { .. }, Some(c)) => format!(
                "by time: train before {c}, test on or after it; cases seen before {c} are not tested on; calibration on {:.0}% of training cases",
                args.calibration_fraction * 100.0
            ),
            _ => format!(
                "by case: {:.0}% of cases in test (seed {}); calibration on {:.0}% of training cases",
                args.test_fraction.unwrap_or_default() * 100.0,
                args.seed,
                args.calibration_fraction * 100.0
            ),
        },
        snapshot_dates: (
            first_date.unwrap_or_default(),
            last_date.unwrap_or_default(),
        ),
        prevalence_fit: y_fit.iter().filter(|&&v| v).count() as f64 / y_fit.len().max(1) as f64,
        synthetic: args.synthetic,
    };
    let content = ModelContent {
        format_version: FORMAT_VERSION,
        name,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        feature_spec: spec,
        params,
        estimator,
        calibration,
        bands,
        training,
        distributions,
        missing_rates,
        evaluation,
        fairness,
    };
    let artifact = ModelArtifact::save(content, &args.out)?;
    write_bytes_atomic(
        &args.out.join(CARD_FILE),
        card::render(&artifact).as_bytes(),
    )?;
    lap("write", &mut stages);

    let c = &artifact.content;
    if args.json {
        let v = json!({
            "type": "training",
            "schema_version": 1,
            "model": artifact.id(),
            "sha256": artifact.sha256,
            "directory": args.out,
            "kind": c.estimator.kind().as_str(),
            "training": c.training,
            "evaluation": c.evaluation,
            "fairness": c.fairness,
            "seconds": stages.iter().map(|(n, s)| json!({"stage": n, "seconds": s})).collect::<Vec<_>>(),
        });
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&v)?));
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
        stages
            .iter()
            .map(|(n, s)| format!("{n} {s:.2}s"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(ExitStatus::Success)
}
