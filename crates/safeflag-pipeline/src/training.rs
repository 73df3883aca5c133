//! The training procedure (split, fit, calibrate, band, evaluate, audit,
//! write the verified artifact and its card) and a saved model's evaluation.

use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::*;
use safeflag_core::FeatureMatrix;
use safeflag_core::FeatureSpec;
use safeflag_core::contract::{COLUMNS, Presence};
use safeflag_core::output::{sha256_file, write_bytes_atomic};
use safeflag_features::{
    age_bands, build_matrix, labels, partition_by_case, raw_spec, shaped_spec, split, text_column,
};
use safeflag_ingest::Validated;
use safeflag_model::artifact::{CARD_FILE, FORMAT_VERSION, MODEL_FILE};
use safeflag_model::backtest::BacktestRecord;
use safeflag_model::calibration::{Bands, Platt};
use safeflag_model::distribution::FeatureDistribution;
use safeflag_model::evaluate::{Evaluation, evaluate};
use safeflag_model::fairness::{FairnessOptions, FairnessTable, audit};
use safeflag_model::metrics::{flag_top_k, k_for_fraction};
use safeflag_model::{
    Estimator, FeatureSet, ModelArtifact, ModelContent, ModelKind, TrainParams, TrainingInfo, card,
    fit_with_held_out,
};
use safeflag_score::reasons::PROMPTS_FILE;

pub use safeflag_features::SplitPlan;

use crate::{Error, Model, Result};

/// Labelled input and the fairness audit's settings, shared by training and
/// evaluation.
#[derive(Debug, Clone)]
pub struct LabelledOptions {
    /// Agency mapping file.
    pub mapping: Option<PathBuf>,
    /// The data-quality gate.
    pub max_quarantine: f64,
    /// The audit's options.
    pub fairness: FairnessOptions,
}

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Labelled snapshots.
    pub input: PathBuf,
    /// What the model card names as the training data, when not the input
    /// file's name (a stack built from an extract).
    pub input_name: Option<String>,
    /// The model directory to write.
    pub out: PathBuf,
    /// Replace a model already in `out`.
    pub force: bool,
    /// The estimator and its settings.
    pub params: TrainParams,
    /// By time or by case.
    pub split: SplitPlan,
    /// Share of the training side's cases held out for calibration and bands.
    pub calibration_fraction: f64,
    /// Queue size to report precision and recall at.
    pub k: Option<usize>,
    /// Labelled input and audit.
    pub labelled: LabelledOptions,
    /// Record that the data are synthetic.
    pub synthetic: bool,
    /// Coaching prompts to ship in the model directory (checked against the
    /// model's features); without them the model uses the built-in prompts.
    pub prompts: Option<PathBuf>,
    /// The backtest that chose these settings, for the model card.
    pub backtest: Option<BacktestRecord>,
    /// Whether to set the other model family beside `params` on the same
    /// split, and whether to keep the better.
    pub families: Families,
    /// Which features: `params.features`, or each family on the standard
    /// set and its richer one ([`FeatureSet::choices`]), keeping the richer
    /// only when it is clearly better on the held-out rows ([`clearly_better`]).
    pub features: FeatureChoice,
}

/// How `train` picks the features.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FeatureChoice {
    /// Fit each family on the standard set and its richer one
    /// ([`FeatureSet::choices`]) and keep the richer only when its held-out
    /// Brier score is clearly lower.
    #[default]
    Choose,
    /// The set in `params.features`.
    Given,
}

/// What `train` does with the model families.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Families {
    /// Train the family asked for, and nothing else.
    #[default]
    Requested,
    /// Also fit the other family (with the settings given for it) on the
    /// same rows, and record both in the model card; keep the one asked for.
    Compare,
    /// Compare, and keep the family with the higher precision in the top 5%
    /// of the held-out rows (then average precision, then the simpler).
    Choose,
}

/// A trained, written model.
#[derive(Debug)]
pub struct Trained {
    /// The artifact as written.
    pub artifact: ModelArtifact,
    /// Seconds per stage.
    pub stages: Vec<(&'static str, f64)>,
}

/// Trains, calibrates, evaluates and audits a model, and writes its verified
/// artifact and model card into `options.out`. A directory that already
/// holds a model is refused unless `options.force`.
pub fn train(options: &TrainOptions) -> Result<Trained> {
    let model_file = options.out.join(MODEL_FILE);
    if model_file.exists() && !options.force {
        return Err(Error::input(format!(
            "`{}` already holds a model; choose another directory or pass --force to replace it",
            options.out.display()
        )));
    }
    let name = options
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::input("--out must name a directory"))?;
    let mut stages: Vec<(&'static str, f64)> = Vec::new();
    let mut last = Instant::now();
    let mut lap = |name: &'static str, stages: &mut Vec<(&'static str, f64)>| {
        stages.push((name, last.elapsed().as_secs_f64()));
        last = Instant::now();
    };

    let validated = load_labelled(&options.input, &options.labelled)?;
    let cases = &validated.cases;
    lap("read+validate", &mut stages);

    let sp = split(cases, &options.split)?;
    let y = labels(cases)?;
    let mut candidates = vec![options.params.clone()];
    if options.families != Families::Requested {
        candidates.push(other_family(&options.params));
    }
    if options.features == FeatureChoice::Choose {
        candidates = candidates
            .into_iter()
            .flat_map(|p| {
                FeatureSet::choices(p.kind).map(|features| TrainParams {
                    features,
                    ..p.clone()
                })
            })
            .collect();
    }
    // The features, once per feature set the candidates use; shapes take
    // their knots from the training side only.
    let features = Features::build(cases, &candidates, &sp.train, &y)?;
    lap("split+features", &mut stages);

    let fits = candidates
        .iter()
        .map(|params| {
            let (spec, x) = features.of(params.features);
            fit_calibrated(
                cases,
                (spec, x, &y),
                &sp.train,
                params,
                options.calibration_fraction,
            )
        })
        .collect::<Result<Vec<Fitted>>>()?;
    lap("fit+calibrate", &mut stages);

    let y_test: Vec<bool> = sp.test.iter().map(|&i| y[i]).collect();
    let mut evaluated = fits
        .into_iter()
        .map(|f| {
            let x_test = features.of(f.features()).1.take_rows(&sp.test);
            let p = f.probabilities(&x_test);
            let e = evaluate(&p, &y_test, options.k)?;
            Ok((f, p, e))
        })
        .collect::<Result<Vec<_>>>()?;
    // Each family's features: its richer set only when its held-out Brier
    // score is clearly lower than the standard set's (listed first).
    let mut finalists: Vec<usize> = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        match finalists
            .iter_mut()
            .find(|f| candidates[**f].kind == c.kind)
        {
            Some(f) => {
                if clearly_better(&evaluated[*f].1, &evaluated[i].1, &y_test) {
                    *f = i;
                }
            }
            None => finalists.push(i),
        }
    }
    // The kept family: the one asked for, unless asked to choose.
    let keep = if options.families == Families::Choose {
        let better = |a: &Evaluation, b: &Evaluation| {
            b.top_5_percent
                .precision
                .total_cmp(&a.top_5_percent.precision)
                .then(b.average_precision.total_cmp(&a.average_precision))
        };
        // Candidates in order of simplicity: the logistic family first.
        let mut order = finalists.clone();
        order.sort_by_key(|&i| candidates[i].kind != ModelKind::Logistic);
        order
            .into_iter()
            .reduce(|a, b| {
                if better(&evaluated[a].2, &evaluated[b].2).is_gt() {
                    b
                } else {
                    a
                }
            })
            .unwrap_or(0)
    } else {
        // The requested family's finalist.
        finalists
            .iter()
            .copied()
            .find(|&i| candidates[i].kind == options.params.kind)
            .unwrap_or(0)
    };
    let families: Vec<safeflag_model::FamilyResult> = if candidates.len() > 1 {
        candidates
            .iter()
            .zip(&evaluated)
            .enumerate()
            .map(|(i, (params, (_, _, e)))| safeflag_model::FamilyResult {
                family: params.kind.as_str().to_string(),
                settings: settings_in_words(params),
                roc_auc: e.roc_auc,
                average_precision: e.average_precision,
                precision_top_5: e.top_5_percent.precision,
                brier: e.brier,
                chosen: i == keep,
            })
            .collect()
    } else {
        Vec::new()
    };
    let params = candidates.swap_remove(keep);
    let (fitted, p_test, evaluation) = evaluated.swap_remove(keep);
    let test_cases = take(cases, &sp.test)?;
    let fairness = fairness_audits(&test_cases, &p_test, &y_test, &options.labelled.fairness)?;
    lap("evaluate", &mut stages);

    let (first_date, last_date) = crate::snapshot_dates(cases)?;
    let training = TrainingInfo {
        input: options.input_name.clone().unwrap_or_else(|| {
            options
                .input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        }),
        input_sha256: sha256_file(&options.input)
            .map_err(|e| Error::io("hashing", &options.input, e))?,
        rows_read: validated.report.rows_read,
        rows_quarantined: validated.report.rows_quarantined,
        rows_fit: fitted.rows_fit,
        rows_calibration: fitted.rows_calibration,
        rows_test: sp.test.len(),
        rows_excluded: sp.excluded.len(),
        split: split_description(options, sp.cutoff),
        snapshot_dates: (
            first_date.unwrap_or_default(),
            last_date.unwrap_or_default(),
        ),
        prevalence_fit: fitted.prevalence_fit,
        synthetic: options.synthetic,
        families,
    };
    let content = fitted.into_content(
        name,
        (params, training),
        (evaluation, fairness),
        options.backtest.clone(),
    );
    // The prompts are checked before anything is written.
    let prompts = match &options.prompts {
        Some(path) => {
            let names = safeflag_score::reasons::prompt_keys(&content.feature_spec);
            safeflag_score::Prompts::from_path(path, &names)?;
            Some(std::fs::read(path).map_err(|e| Error::io("reading", path, e))?)
        }
        None => None,
    };
    let artifact = ModelArtifact::save(content, &options.out)?;
    write_bytes_atomic(
        &options.out.join(CARD_FILE),
        card::render(&artifact).as_bytes(),
    )?;
    let own_prompts = options.out.join(PROMPTS_FILE);
    match prompts {
        Some(bytes) => write_bytes_atomic(&own_prompts, &bytes)?,
        // A replaced model must not keep the prompts of the one before it.
        None => match std::fs::remove_file(&own_prompts) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("removing", &own_prompts, e)),
        },
    }
    lap("write", &mut stages);
    Ok(Trained { artifact, stages })
}

/// The other model family, with the settings given for it (each family
/// reads only its own: `l2` and iterations, or the trees'), and the same seed.
fn other_family(params: &TrainParams) -> TrainParams {
    TrainParams {
        kind: match params.kind {
            ModelKind::Logistic => ModelKind::Gbm,
            ModelKind::Gbm => ModelKind::Logistic,
        },
        ..params.clone()
    }
}

/// A family's settings in words, for the model card.
fn settings_in_words(p: &TrainParams) -> String {
    let family = match p.kind {
        ModelKind::Logistic => format!("L2 {}", p.l2),
        ModelKind::Gbm => format!(
            "{} trees of depth {}, learning rate {}",
            p.gbm_trees, p.gbm_max_depth, p.gbm_learning_rate
        ),
    };
    format!("{family}, {} features", p.features.as_str())
}

/// Whether probabilities `b` have a lower Brier score than `a` on the same
/// rows by more than twice the standard error of the paired difference:
/// a richer model must earn its place by more than the noise of one
/// held-out sample (decision 58).
pub fn clearly_better(a: &[f64], b: &[f64], y: &[bool]) -> bool {
    let n = y.len() as f64;
    if n < 2.0 {
        return false;
    }
    let gain: Vec<f64> = a
        .iter()
        .zip(b)
        .zip(y)
        .map(|((pa, pb), &y)| {
            let t = if y { 1.0 } else { 0.0 };
            (pa - t) * (pa - t) - (pb - t) * (pb - t)
        })
        .collect();
    let mean = gain.iter().sum::<f64>() / n;
    let var = gain.iter().map(|g| (g - mean) * (g - mean)).sum::<f64>() / (n - 1.0);
    mean > 2.0 * (var / n).sqrt()
}

/// The spec of a feature set, fitted to `rows` of `cases` (with labels `y`,
/// one per row of `cases`) where it has shapes.
pub(crate) fn spec_for(
    set: FeatureSet,
    cases: &DataFrame,
    rows: &[usize],
    y: &[bool],
) -> Result<FeatureSpec> {
    Ok(match set {
        FeatureSet::Standard => FeatureSpec::standard(),
        FeatureSet::Shaped => shaped_spec(cases, rows, y)?,
        FeatureSet::Raw => raw_spec(cases, rows)?,
    })
}

/// Every row's features under each feature set some candidate uses.
pub(crate) struct Features(Vec<(FeatureSet, FeatureSpec, FeatureMatrix)>);

impl Features {
    /// The features of `cases` for `candidates`, shapes fitted to `rows`.
    pub(crate) fn build(
        cases: &DataFrame,
        candidates: &[TrainParams],
        rows: &[usize],
        y: &[bool],
    ) -> Result<Features> {
        let mut out: Vec<(FeatureSet, FeatureSpec, FeatureMatrix)> = Vec::new();
        for c in candidates {
            if !out.iter().any(|(set, _, _)| *set == c.features) {
                let spec = spec_for(c.features, cases, rows, y)?;
                let x = build_matrix(cases, &spec)?;
                out.push((c.features, spec, x));
            }
        }
        Ok(Features(out))
    }

    /// The features of other cases under the same specs (the knots stay
    /// those of the rows the specs were fitted to).
    pub(crate) fn apply(&self, cases: &DataFrame) -> Result<Features> {
        self.0
            .iter()
            .map(|(set, spec, _)| Ok((*set, spec.clone(), build_matrix(cases, spec)?)))
            .collect::<Result<_>>()
            .map(Features)
    }

    /// The spec and matrix of a feature set that [`Features::build`] was given.
    pub(crate) fn of(&self, set: FeatureSet) -> (&FeatureSpec, &FeatureMatrix) {
        let (_, spec, x) = self
            .0
            .iter()
            .find(|(s, _, _)| *s == set)
            .expect("built for every candidate's feature set");
        (spec, x)
    }
}

/// The share of the fit side's cases boosted trees stop early on.
pub const EARLY_STOPPING_FRACTION: f64 = 0.1;

/// A model fitted and calibrated on its training rows, before it is
/// evaluated and written: what `train` and a backtest's every candidate share.
pub(crate) struct Fitted {
    features: FeatureSet,
    spec: FeatureSpec,
    estimator: Estimator,
    calibration: Platt,
    bands: Bands,
    distributions: Vec<FeatureDistribution>,
    missing_rates: Vec<(String, f64)>,
    /// Rows the estimator was fitted on.
    pub rows_fit: usize,
    /// Rows held out for calibration and bands.
    pub rows_calibration: usize,
    /// The outcome rate on the fitted rows.
    pub prevalence_fit: f64,
}

/// Fits `params` on `rows` of `cases` (with their features and labels
/// `xy`): the estimator on all but `calibration_fraction` of the rows'
/// cases, the calibration and bands on the rest.
pub(crate) fn fit_calibrated(
    cases: &DataFrame,
    (spec, x, y): (&FeatureSpec, &FeatureMatrix, &[bool]),
    rows: &[usize],
    params: &TrainParams,
    calibration_fraction: f64,
) -> Result<Fitted> {
    let case_ids = cases.column("case_id")?.str()?.clone();
    let (cal_rows, fit_rows) =
        partition_by_case(&case_ids, rows, calibration_fraction, params.seed ^ 0x5eed);
    let pick = |rows: &[usize]| rows.iter().map(|&i| y[i]).collect::<Vec<bool>>();
    // Boosted trees that stop early do so on a tenth of the fit side's
    // cases, held out of the fit and of the calibration both.
    let (stop_rows, fit_rows) =
        if params.kind == ModelKind::Gbm && params.gbm_early_stopping.is_some() {
            partition_by_case(
                &case_ids,
                &fit_rows,
                EARLY_STOPPING_FRACTION,
                params.seed ^ 0xea51,
            )
        } else {
            (Vec::new(), fit_rows)
        };
    let (x_fit, y_fit) = (x.take_rows(&fit_rows), pick(&fit_rows));
    let (x_cal, y_cal) = (x.take_rows(&cal_rows), pick(&cal_rows));
    let (x_stop, y_stop) = (x.take_rows(&stop_rows), pick(&stop_rows));
    let held_out = (!stop_rows.is_empty()).then_some((&x_stop, y_stop.as_slice()));
    let estimator = fit_with_held_out(&x_fit, &y_fit, held_out, params)?;
    // Both families' slopes are already right on new rows; a slope fitted
    // on the held-out cases' few thousand incidents only carries their noise
    // into the tails (decisions 59 and 62).
    let calibration = Platt::fit_shift(&estimator.log_odds(&x_cal), &y_cal)?;
    let p_cal = probabilities(&estimator, &calibration, &x_cal);
    let bands = Bands::fit(&p_cal);
    let distributions = (0..x_fit.cols())
        .map(|j| {
            let column = x_fit.column(j);
            let values = column
                .as_slice()
                .ok_or_else(|| Error::internal("the feature matrix is not column-major"))?;
            Ok(FeatureDistribution::fit(&x_fit.names()[j], values))
        })
        .collect::<Result<Vec<_>>>()?;
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
    Ok(Fitted {
        features: params.features,
        spec: spec.clone(),
        estimator,
        calibration,
        bands,
        distributions,
        missing_rates,
        rows_fit: fit_rows.len(),
        rows_calibration: cal_rows.len(),
        prevalence_fit: y_fit.iter().filter(|&&v| v).count() as f64 / y_fit.len().max(1) as f64,
    })
}

impl Fitted {
    /// The feature set the model was fitted on.
    pub(crate) fn features(&self) -> FeatureSet {
        self.features
    }

    /// Calibrated probabilities of `x`.
    pub(crate) fn probabilities(&self, x: &FeatureMatrix) -> Vec<f64> {
        probabilities(&self.estimator, &self.calibration, x)
    }

    /// The whole artifact content, with what the caller measured.
    pub(crate) fn into_content(
        self,
        name: String,
        (params, training): (TrainParams, TrainingInfo),
        (evaluation, fairness): (Evaluation, Vec<FairnessTable>),
        backtest: Option<BacktestRecord>,
    ) -> ModelContent {
        ModelContent {
            format_version: FORMAT_VERSION,
            name,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            feature_spec: self.spec,
            params,
            estimator: self.estimator,
            calibration: self.calibration,
            bands: self.bands,
            training,
            distributions: self.distributions,
            missing_rates: self.missing_rates,
            evaluation,
            fairness,
            backtest,
        }
    }
}

fn split_description(options: &TrainOptions, cutoff: Option<chrono::NaiveDate>) -> String {
    let cal = options.calibration_fraction * 100.0;
    match (&options.split, cutoff) {
        (SplitPlan::ByTime { .. }, Some(c)) => format!(
            "by time: train before {c}, test on or after it; cases seen before {c} are not tested on; calibration on {cal:.0}% of training cases"
        ),
        (
            SplitPlan::ByCase {
                test_fraction,
                seed,
            },
            _,
        ) => format!(
            "by case: {:.0}% of cases in test (seed {seed}); calibration on {cal:.0}% of training cases",
            test_fraction * 100.0
        ),
        (SplitPlan::ByTime { .. }, None) => format!(
            "by case: 0% of cases in test (seed {}); calibration on {cal:.0}% of training cases",
            options.params.seed
        ),
    }
}

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    /// Labelled snapshots.
    pub input: PathBuf,
    /// The model directory (or its model.json).
    pub model: PathBuf,
    /// Queue size to report precision and recall at.
    pub k: Option<usize>,
    /// A `generate --truth` file for the same rows.
    pub truth: Option<PathBuf>,
    /// Labelled input and audit.
    pub labelled: LabelledOptions,
}

/// A saved model's evaluation.
#[derive(Debug)]
pub struct Evaluated {
    /// The model.
    pub model: Model,
    /// Rows read and quarantined.
    pub validated: Validated,
    /// The model's metrics.
    pub evaluation: Evaluation,
    /// The ground truth's metrics on the same rows, when a truth file was given.
    pub truth: Option<Evaluation>,
    /// The audits by race/ethnicity and age band.
    pub fairness: Vec<FairnessTable>,
    /// The model's mean probability against the truth's, by age band, case
    /// type and decile of the model's probability (with a truth file).
    pub against_truth: Vec<TruthGroup>,
}

/// Groups smaller than this are shown but not judged against the truth.
pub const TRUTH_MIN_ROWS: usize = 1000;
/// The largest relative gap between the model's mean and the truth's in a
/// judged group.
pub const TRUTH_TOLERANCE: f64 = 0.10;

/// The model's mean probability against the true one in a group of rows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TruthGroup {
    /// `age band`, `case type` or `decile`.
    pub grouping: String,
    /// The group (a decile is `1` for the lowest tenth of the model's probabilities).
    pub group: String,
    /// Rows.
    pub n: usize,
    /// The model's mean probability.
    pub mean_predicted: f64,
    /// The truth's mean probability.
    pub mean_truth: f64,
    /// `mean_predicted / mean_truth`.
    pub ratio: f64,
    /// At least [`TRUTH_MIN_ROWS`] rows.
    pub judged: bool,
    /// Judged, and within [`TRUTH_TOLERANCE`] of the truth.
    pub within: bool,
}

/// The model's mean against the truth's by age band, case type and decile.
fn against_truth(cases: &DataFrame, p: &[f64], truth: &[f64]) -> Result<Vec<TruthGroup>> {
    let ages = age_bands(cases)?;
    let types = text_column(cases, "case_type")?;
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut decile = vec![String::new(); p.len()];
    for (rank, &i) in order.iter().enumerate() {
        decile[i] = (1 + rank * 10 / p.len().max(1)).to_string();
    }
    let mut out = Vec::new();
    let groupings: [(&str, Vec<Option<String>>); 3] = [
        ("age band", ages),
        ("case type", types),
        ("decile", decile.into_iter().map(Some).collect()),
    ];
    for (grouping, groups) in groupings {
        let mut sums: std::collections::BTreeMap<String, (usize, f64, f64)> =
            std::collections::BTreeMap::new();
        for (i, g) in groups.iter().enumerate() {
            let e = sums
                .entry(
                    g.clone()
                        .unwrap_or_else(|| safeflag_model::fairness::MISSING_GROUP.into()),
                )
                .or_default();
            e.0 += 1;
            e.1 += p[i];
            e.2 += truth[i];
        }
        let mut rows: Vec<TruthGroup> = sums
            .into_iter()
            .map(|(group, (n, sp, st))| {
                let ratio = sp / st;
                let judged = n >= TRUTH_MIN_ROWS;
                TruthGroup {
                    grouping: grouping.to_string(),
                    group,
                    n,
                    mean_predicted: sp / n as f64,
                    mean_truth: st / n as f64,
                    ratio,
                    judged,
                    within: judged && (ratio - 1.0).abs() <= TRUTH_TOLERANCE,
                }
            })
            .collect();
        if grouping == "decile" {
            rows.sort_by_key(|r| r.group.parse::<usize>().unwrap_or(0));
        }
        out.extend(rows);
    }
    Ok(out)
}

/// A saved model's metrics and fairness on labelled data, beside the
/// generator's ground truth when `options.truth` is given.
pub fn evaluate_model(options: &EvaluateOptions) -> Result<Evaluated> {
    let model = Model::load(&options.model)?;
    let validated = load_labelled(&options.input, &options.labelled)?;
    let cases = &validated.cases;
    let p = predict(&model.artifact, cases)?;
    let y = labels(cases)?;
    let evaluation = evaluate(&p, &y, options.k)?;
    let fairness = fairness_audits(cases, &p, &y, &options.labelled.fairness)?;
    let (truth, against) = match &options.truth {
        Some(path) => {
            let t = truth_for(cases, path)?;
            (
                Some(evaluate(&t, &y, options.k)?),
                against_truth(cases, &p, &t)?,
            )
        }
        None => (None, Vec::new()),
    };
    Ok(Evaluated {
        model,
        validated,
        evaluation,
        truth,
        fairness,
        against_truth: against,
    })
}

/// Ingests labelled data and applies the data-quality gate.
pub fn load_labelled(input: &Path, options: &LabelledOptions) -> Result<Validated> {
    let validated = crate::ingest_mapped(input, options.mapping.as_deref(), true)?;
    validated.report.check_gate(options.max_quarantine)?;
    Ok(validated)
}

/// Calibrated probabilities of `x` under an estimator and calibration.
fn probabilities(
    estimator: &Estimator,
    calibration: &Platt,
    x: &safeflag_core::FeatureMatrix,
) -> Vec<f64> {
    estimator
        .log_odds(x)
        .into_iter()
        .map(|z| calibration.probability(z))
        .collect()
}

/// Probabilities of validated cases under a saved model (its own feature spec).
pub fn predict(model: &ModelArtifact, cases: &DataFrame) -> Result<Vec<f64>> {
    let x = build_matrix(cases, &model.content.feature_spec)?;
    Ok(probabilities(
        &model.content.estimator,
        &model.content.calibration,
        &x,
    ))
}

/// The grouping of children by race/ethnicity crossed with age band.
pub const RACE_BY_AGE: &str = "race/ethnicity x age band";

/// Fairness audits by race/ethnicity, by age band and by the two crossed,
/// flagging the top 5%, with calibration within every group.
pub(crate) fn fairness_audits(
    cases: &DataFrame,
    probabilities: &[f64],
    labels: &[bool],
    options: &FairnessOptions,
) -> Result<Vec<FairnessTable>> {
    let flags = flag_top_k(probabilities, k_for_fraction(probabilities.len(), 0.05));
    let race = text_column(cases, safeflag_core::contract::RACE_ETHNICITY)?;
    let bands = age_bands(cases)?;
    let crossed = safeflag_model::fairness::intersect(&race, &bands);
    let largest = FairnessOptions {
        reference: None,
        ..options.clone()
    };
    let run = |grouping: &str, groups: &[Option<String>], o: &FairnessOptions| {
        audit(
            grouping,
            groups,
            &flags,
            Some(labels),
            Some(probabilities),
            o,
        )
    };
    Ok(vec![
        run(safeflag_core::contract::RACE_ETHNICITY, &race, options),
        run(safeflag_model::fairness::AGE_BAND, &bands, &largest),
        run(RACE_BY_AGE, &crossed, &largest),
    ])
}

/// Rows `idx` of a frame.
pub(crate) fn take(df: &DataFrame, idx: &[usize]) -> Result<DataFrame> {
    let idx: Vec<IdxSize> = idx.iter().map(|&i| i as IdxSize).collect();
    Ok(df.take(&IdxCa::from_vec("idx".into(), idx))?)
}

/// The true probability of each case row, joined on (child_id, snapshot_date).
fn truth_for(cases: &DataFrame, path: &Path) -> Result<Vec<f64>> {
    // Reuse the reader, not the contract: the truth file is not a case snapshot.
    let format = safeflag_ingest::InputFormat::from_path(path)?;
    let df = safeflag_ingest::read::read_raw(path, format)?;
    let truth = df
        .lazy()
        .select([
            col("child_id").cast(DataType::String),
            col("snapshot_date")
                .cast(DataType::String)
                .str()
                .to_date(StrptimeOptions::default()),
            col(safeflag_synth::TRUE_PROBABILITY).cast(DataType::Float64),
        ])
        .collect()
        .map_err(|e| Error::input(format!("the truth file `{}`: {e}", path.display())))?;
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
        return Err(Error::input(format!(
            "`{}` has no true probability for {} of the rows",
            path.display(),
            p.null_count()
        )));
    }
    Ok(p.into_no_null_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use safeflag_synth::{SynthParams, generate};

    /// A generated world and each row's true probability.
    fn world(rows: usize, seed: u64) -> (safeflag_synth::Synthetic, Vec<f64>) {
        let world = generate(&SynthParams {
            rows,
            seed,
            ..SynthParams::default()
        });
        let p = world
            .truth
            .column(safeflag_synth::generate::TRUE_PROBABILITY)
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        (world, p)
    }

    fn logit(p: f64) -> f64 {
        (p / (1.0 - p)).ln()
    }

    /// A generated world where groups differ only in how common the risk
    /// factors are (surveillance gives Black and American Indian families
    /// more prior reports; risk given the facts is the same for all), scored
    /// by its own true probability: a calibrated model. Its flag rates differ
    /// by group, clearly, yet no group is miscalibrated, so the audit warns
    /// of nothing. The same world with one group's scores shifted up (a
    /// planted bias) is warned of, for that group.
    #[test]
    fn a_calibrated_model_raises_no_warning_and_a_planted_score_bias_does() {
        let (world, p) = world(200_000, 77);
        let y = safeflag_features::labels(&world.cases).unwrap();
        let race = text_column(&world.cases, safeflag_core::contract::RACE_ETHNICITY).unwrap();
        let options = FairnessOptions {
            reference: Some("White".into()),
            ..FairnessOptions::default()
        };

        let fair = fairness_audits(&world.cases, &p, &y, &options).unwrap();
        assert_eq!(fair.len(), 3);
        let black = fair[0].groups.iter().find(|g| g.group == "Black").unwrap();
        // Flag rates differ, clearly: infants are flagged many times as often
        // as older children, and Black children (more prior reports) more
        // than White children; the old point-estimate rule warned on both.
        let infants = fair[1]
            .groups
            .iter()
            .find(|g| g.group == "under 6 months")
            .unwrap();
        assert!(infants.intervals["flag_rate"].low > 5.0, "{infants:?}");
        assert!(black.intervals["flag_rate"].low > 1.0, "{black:?}");
        for t in &fair {
            assert!(
                t.miscalibrated().is_empty(),
                "{}: {:?}",
                t.grouping,
                t.miscalibrated()
            );
        }
        let c = black.calibration.unwrap();
        assert!(c.low < 1.0 && c.high > 1.0, "{c:?}");

        let biased: Vec<f64> = p
            .iter()
            .zip(&race)
            .map(|(&p, r)| {
                if r.as_deref() == Some("Black") {
                    1.0 / (1.0 + (-(logit(p) + 0.8)).exp())
                } else {
                    p
                }
            })
            .collect();
        let unfair = fairness_audits(&world.cases, &biased, &y, &options).unwrap();
        let warned: Vec<&str> = unfair[0]
            .miscalibrated()
            .iter()
            .map(|g| g.group.as_str())
            .collect();
        assert_eq!(warned, vec!["Black"]);
        let black = unfair[0]
            .groups
            .iter()
            .find(|g| g.group == "Black")
            .unwrap();
        assert!(black.calibration.unwrap().high < 0.8, "{black:?}");
        // The crossed groups carry it too: every warned one is a Black group.
        let crossed = unfair[2].miscalibrated();
        assert!(!crossed.is_empty());
        assert!(crossed.iter().all(|g| g.group.starts_with("Black / ")));
    }

    /// The groups against the truth: the truth against itself is within
    /// everywhere; scores a fifth too high are off wherever judged; a group
    /// of fewer than 1,000 rows is shown, never judged.
    #[test]
    fn a_richer_model_must_beat_the_noise_of_the_held_out_rows() {
        // 10,000 rows, 1 in 10 an incident.
        let y: Vec<bool> = (0..10_000).map(|i| i % 10 == 0).collect();
        let a = vec![0.1; y.len()];
        // Sharper on every row: clearly better.
        let b: Vec<f64> = y.iter().map(|&t| if t { 0.3 } else { 0.08 }).collect();
        assert!(clearly_better(&a, &b, &y));
        assert!(!clearly_better(&b, &a, &y));
        // Better on a handful of rows only, by a hair: not clearly.
        let mut c = a.clone();
        for i in [0, 10, 20] {
            c[i] = 0.1001;
        }
        for i in [1, 2] {
            c[i] = 0.0999;
        }
        assert!(!clearly_better(&a, &c, &y));
        // The same: never.
        assert!(!clearly_better(&a, &a, &y));
    }

    #[test]
    fn groups_against_the_truth() {
        let (world, t) = world(30_000, 5);
        let same = against_truth(&world.cases, &t, &t).unwrap();
        let names: Vec<&str> = same.iter().map(|g| g.grouping.as_str()).collect();
        assert_eq!(names.iter().filter(|n| **n == "decile").count(), 10);
        assert!(names.contains(&"age band") && names.contains(&"case type"));
        assert!(
            same.iter()
                .all(|g| (g.ratio - 1.0).abs() < 1e-12 && g.within == g.judged)
        );
        assert_eq!(
            same.iter()
                .filter(|g| g.grouping == "decile")
                .map(|g| g.n)
                .sum::<usize>(),
            30_000
        );
        let high: Vec<f64> = t.iter().map(|p| p * 1.2).collect();
        let off = against_truth(&world.cases, &high, &t).unwrap();
        assert!(off.iter().all(|g| !g.within));
        assert!(off.iter().any(|g| g.judged));
        assert!(off.iter().all(|g| g.judged == (g.n >= TRUTH_MIN_ROWS)));
    }
}
