//! Rolling-origin backtests: at each cut-off, every candidate is trained on
//! what was known by then and scores the period after it.
//!
//! From an extract, the training rows at a cut-off are the stack as the
//! agency could have built it that day: only dates whose window had closed
//! (with the recording lag) by the cut-off, labelled with only the incidents
//! recorded by then. The snapshots are the same whenever they are built
//! (the extract builder's time-travel property), so only the labels are
//! redrawn; a property test holds this to rebuilding everything from
//! [`Extract::known_on`]. The rows scored are the whole extract's labelled
//! stack, the best truth there is. From a
//! stack file the same window rule is applied to its rows, but a stack's
//! labels were drawn with everything its builder knew, so incidents
//! recorded after a cut-off cannot be told apart: the extract is the exact
//! form, and the docs say so.
//!
//! Each period is measured the way reviewers meet the model (each night's
//! queue at the configured size) and the way `safeflag evaluate` measures a
//! model (the period's rows as one set), and the choice is made by regret
//! (`safeflag_model::backtest`). The chosen settings can then be trained on
//! everything labelled, with the backtest in the model's card.

use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate};
use polars::prelude::*;
use rayon::prelude::*;
use safeflag_core::days::to_days as epoch_days;
use safeflag_core::output::{create_private_dir_all, sha256_file, write_bytes_atomic};
use safeflag_extract::{Extract, LabelOptions};
use safeflag_features::labels;
use safeflag_model::backtest::{BacktestRecord, Candidate, Criterion, PeriodResult, record};
use safeflag_model::evaluate::evaluate;
use safeflag_model::metrics::{at_k, calibration, wilson};
use safeflag_model::{FeatureSet, ModelArtifact, ModelKind, TrainParams, TrainingInfo, card};

use crate::extract::{ExtractSource, read_extract};
use crate::training::{
    Features, Fitted, LabelledOptions, SplitPlan, TrainOptions, Trained, fairness_audits,
    fit_calibrated, load_labelled, take, train,
};
use crate::{Error, Result};

/// What a backtest runs on.
#[derive(Debug, Clone)]
pub enum BacktestInput {
    /// A relational extract and the snapshot dates of its stack.
    Extract {
        /// The extract.
        source: ExtractSource,
        /// The first snapshot date.
        from: NaiveDate,
        /// The last snapshot date (inclusive).
        to: NaiveDate,
        /// Days between snapshot dates.
        every_days: u32,
    },
    /// A labelled stack file (snapshots with `outcome_critical_incident`).
    Stack(PathBuf),
}

/// How to backtest.
#[derive(Debug, Clone)]
pub struct BacktestOptions {
    /// The rows.
    pub input: BacktestInput,
    /// The label window and the recording lag.
    pub label: LabelOptions,
    /// How many cut-offs.
    pub cutoffs: usize,
    /// Days scored after each cut-off (the next cut-off follows them).
    pub period_days: u32,
    /// The first cut-off; by default the one that makes the last period end
    /// on the last labelled snapshot date.
    pub first_cutoff: Option<NaiveDate>,
    /// Cases in each night's queue.
    pub capacity: usize,
    /// What the choice is made on.
    pub criterion: Criterion,
    /// The candidates, simplest first (ties go to the first).
    pub candidates: Vec<Candidate>,
    /// Share of each training set's cases held out for calibration.
    pub calibration_fraction: f64,
    /// Mapping, gate and fairness settings (for a stack file).
    pub labelled: LabelledOptions,
    /// Write each period's rows and each candidate's model here.
    pub keep: Option<PathBuf>,
    /// Train the chosen candidate on every labelled row and write it here,
    /// with the backtest in its card.
    pub out: Option<PathBuf>,
    /// Replace a model already in `out`.
    pub force: bool,
    /// Record that the data are synthetic (for the chosen model's card).
    pub synthetic: bool,
}

/// The candidates tried when none are named: the logistic model on the
/// shaped features at three penalties and on the standard features, and
/// gradient boosting on the numbers as numbers at two sizes, simplest first.
pub fn default_candidates(seed: u64) -> Vec<Candidate> {
    let base = TrainParams {
        seed,
        ..TrainParams::default()
    };
    let logistic = |l2: f64| Candidate {
        name: format!("logistic-l2-{l2}"),
        params: TrainParams { l2, ..base.clone() },
    };
    let gbm = |trees: usize, depth: usize, rate: f32| Candidate {
        name: format!("gbm-{trees}x{depth}"),
        params: TrainParams {
            kind: ModelKind::Gbm,
            gbm_trees: trees,
            gbm_max_depth: depth,
            gbm_learning_rate: rate,
            features: FeatureSet::Raw,
            ..base.clone()
        },
    };
    vec![
        logistic(1.0),
        logistic(0.1),
        logistic(10.0),
        Candidate {
            name: "logistic-standard".to_string(),
            params: TrainParams {
                features: FeatureSet::Standard,
                ..base.clone()
            },
        },
        gbm(100, 3, 0.1),
        gbm(300, 4, 0.05),
    ]
}

/// A finished backtest.
#[derive(Debug)]
pub struct Backtested {
    /// What every candidate did in every period, and the choice.
    pub record: BacktestRecord,
    /// The chosen candidate trained on every labelled row, when asked.
    pub trained: Option<Trained>,
    /// Seconds per step: reading, each cut-off, the final training.
    pub stages: Vec<(String, f64)>,
}

/// Where the rows come from: the labelled rows to score, and how to get
/// the training rows at a cut-off.
enum Rows {
    Extract { x: Extract },
    Stack,
}

/// Runs the backtest.
pub fn backtest(options: &BacktestOptions) -> Result<Backtested> {
    check(options)?;
    let mut stages = Vec::new();
    let t = std::time::Instant::now();
    let (rows, scored, input) = match &options.input {
        BacktestInput::Extract {
            source,
            from,
            to,
            every_days,
        } => {
            let x = read_extract(source, None)?;
            let dates = safeflag_extract::dates_every(*from, *to, *every_days)?;
            let all = safeflag_extract::stack(&x, &dates, options.label)?.frame;
            let input = format!(
                "extract {} (extracted {}), snapshots {from}..{to} every {every_days} days",
                dir_name(&source.dir),
                x.extracted_on
            );
            (Rows::Extract { x }, all, input)
        }
        BacktestInput::Stack(path) => {
            let v = load_labelled(path, &options.labelled)?;
            (Rows::Stack, v.cases, format!("stack {}", dir_name(path)))
        }
    };
    stages.push(("read".to_string(), t.elapsed().as_secs_f64()));
    let days = day_numbers(&scored)?;
    let last = *days
        .iter()
        .max()
        .ok_or_else(|| Error::input("the backtest has no labelled rows"))?;
    let cutoffs = cutoffs(options, last)?;
    let y_all = labels(&scored)?;
    let mut per_candidate: Vec<Vec<PeriodResult>> = vec![Vec::new(); options.candidates.len()];
    for (i, &cutoff) in cutoffs.iter().enumerate() {
        let t = std::time::Instant::now();
        let end = cutoff + Days::new(options.period_days.into());
        let test: Vec<usize> = (0..days.len())
            .filter(|&r| days[r] >= epoch_days(cutoff) && days[r] < epoch_days(end))
            .collect();
        let train_frame = training_rows(&rows, &scored, &days, cutoff, options.label)
            .map_err(|e| e.context(format!("cut-off {cutoff}")))?;
        let test_frame = take(&scored, &test)?;
        let y_test: Vec<bool> = test.iter().map(|&r| y_all[r]).collect();
        let period = Period::new(
            &train_frame,
            &test_frame,
            y_test,
            cutoff,
            &options.candidates,
        )?;
        let results: Vec<(Fitted, PeriodResult)> = options
            .candidates
            .par_iter()
            .map(|c| {
                period
                    .run(c, options)
                    .map_err(|e| e.context(format!("cut-off {cutoff}, candidate {}", c.name)))
            })
            .collect::<Result<_>>()?;
        let results = match &options.keep {
            Some(keep) => {
                let dir = keep.join(format!("{:02}-{cutoff}", i + 1));
                period.keep(&dir, options, &input, results)?
            }
            None => results.into_iter().map(|(_, r)| r).collect(),
        };
        for (slot, r) in per_candidate.iter_mut().zip(results) {
            slot.push(r);
        }
        stages.push((format!("cut-off {cutoff}"), t.elapsed().as_secs_f64()));
    }
    let record = record(
        input,
        (
            options.label.window_days,
            options.label.lag_days,
            options.capacity,
            options.period_days,
        ),
        options.criterion,
        options
            .candidates
            .iter()
            .cloned()
            .zip(per_candidate)
            .collect(),
    );
    let trained = match &options.out {
        Some(out) => {
            let t = std::time::Instant::now();
            let trained = train_chosen(options, &record, &scored, out)?;
            stages.push(("train chosen".to_string(), t.elapsed().as_secs_f64()));
            Some(trained)
        }
        None => None,
    };
    Ok(Backtested {
        record,
        trained,
        stages,
    })
}

fn check(options: &BacktestOptions) -> Result<()> {
    if options.candidates.is_empty() {
        return Err(Error::input("a backtest needs at least one candidate"));
    }
    if options.cutoffs == 0 || options.period_days == 0 || options.capacity == 0 {
        return Err(Error::input(
            "--cutoffs, --period and --capacity must each be at least 1",
        ));
    }
    if let Some(out) = &options.out
        && out.join(safeflag_model::artifact::MODEL_FILE).exists()
        && !options.force
    {
        return Err(Error::input(format!(
            "`{}` already holds a model; choose another directory or pass --force to replace it",
            out.display()
        )));
    }
    Ok(())
}

/// The cut-off dates: `first, first + period, ...`.
fn cutoffs(options: &BacktestOptions, last_day: i32) -> Result<Vec<NaiveDate>> {
    let span = i64::from(options.period_days) * options.cutoffs as i64;
    let first = match options.first_cutoff {
        Some(d) => d,
        None => from_epoch_days(i64::from(last_day) - span + 1)?,
    };
    (0..options.cutoffs)
        .map(|i| {
            first
                .checked_add_days(Days::new(u64::from(options.period_days) * i as u64))
                .ok_or_else(|| Error::input("the cut-offs run past the calendar"))
        })
        .collect()
}

/// The rows a model trained at `cutoff` may learn from: labels whose window
/// had closed, with the recording lag, by the cut-off; from an extract,
/// labelled with only the incidents recorded by the cut-off (the snapshots
/// themselves are the same whenever they are built: see
/// [`safeflag_extract::labels_known_on`]).
fn training_rows(
    rows: &Rows,
    scored: &DataFrame,
    days: &[i32],
    cutoff: NaiveDate,
    label: LabelOptions,
) -> Result<DataFrame> {
    let closed =
        epoch_days(cutoff) - i32::try_from(label.window_days + label.lag_days).unwrap_or(i32::MAX);
    let keep: Vec<usize> = (0..days.len()).filter(|&r| days[r] <= closed).collect();
    if keep.is_empty() {
        return Err(Error::input(format!(
            "no snapshot date's label window ({} days, lag {}) had closed by the cut-off; start the stack earlier or the cut-offs later",
            label.window_days, label.lag_days
        )));
    }
    let rows_known = take(scored, &keep)?;
    match rows {
        Rows::Extract { x, .. } => Ok(safeflag_extract::labels_known_on(
            x,
            &rows_known,
            label.window_days,
            cutoff,
        )?),
        Rows::Stack => Ok(rows_known),
    }
}

/// One cut-off: its training and scored rows, their features.
struct Period<'a> {
    cutoff: NaiveDate,
    train: &'a DataFrame,
    /// The training rows' features, under each candidate's feature set.
    train_x: Features,
    train_y: Vec<bool>,
    test: &'a DataFrame,
    /// The test rows' features, under the same specs.
    test_x: Features,
    test_y: Vec<bool>,
    /// Each scored night's cases, each a list of its children's rows.
    nights: Vec<Vec<Vec<usize>>>,
}

impl<'a> Period<'a> {
    fn new(
        train: &'a DataFrame,
        test: &'a DataFrame,
        test_y: Vec<bool>,
        cutoff: NaiveDate,
        candidates: &[Candidate],
    ) -> Result<Period<'a>> {
        if test.height() == 0 {
            return Err(Error::input(format!(
                "cut-off {cutoff}: no labelled snapshot date falls in the period after it"
            )));
        }
        let days = day_numbers(test)?;
        let cases = test.column("case_id")?.str()?;
        let mut nights: std::collections::BTreeMap<
            i32,
            std::collections::BTreeMap<&str, Vec<usize>>,
        > = std::collections::BTreeMap::new();
        for (r, case) in cases.iter().enumerate() {
            let case = case.ok_or_else(|| Error::internal("a labelled row has no case_id"))?;
            nights
                .entry(days[r])
                .or_default()
                .entry(case)
                .or_default()
                .push(r);
        }
        let nights = nights
            .into_values()
            .map(|cases| cases.into_values().collect())
            .collect();
        // Shapes take their knots from what was known at the cut-off.
        let train_y = labels(train)?;
        let params: Vec<TrainParams> = candidates.iter().map(|c| c.params.clone()).collect();
        let all: Vec<usize> = (0..train.height()).collect();
        let train_x = Features::build(train, &params, &all, &train_y)?;
        let test_x = train_x.apply(test)?;
        Ok(Period {
            cutoff,
            train,
            train_x,
            train_y,
            test,
            test_x,
            test_y,
            nights,
        })
    }

    /// Fits a candidate and measures it on the period.
    fn run(&self, c: &Candidate, options: &BacktestOptions) -> Result<(Fitted, PeriodResult)> {
        let all: Vec<usize> = (0..self.train.height()).collect();
        let (spec, x) = self.train_x.of(c.params.features);
        let fitted = fit_calibrated(
            self.train,
            (spec, x, &self.train_y),
            &all,
            &c.params,
            options.calibration_fraction,
        )?;
        let p = fitted.probabilities(self.test_x.of(c.params.features).1);
        let measured = self.measure(&p, options)?;
        Ok((fitted, measured))
    }

    fn measure(&self, p: &[f64], options: &BacktestOptions) -> Result<PeriodResult> {
        let y = &self.test_y;
        // Each night's queue of cases, ranked by their highest-risk child
        // as the nightly queue is; a case is a hit when any of its children
        // had an incident. Ties at the cut-off are taken in expectation (as
        // `evaluate` does), and the interval is drawn on that count rounded
        // to whole cases.
        let (mut hits, mut slots) = (0.0, 0usize);
        for night in &self.nights {
            let pn: Vec<f64> = night
                .iter()
                .map(|c| c.iter().map(|&r| p[r]).fold(f64::NEG_INFINITY, f64::max))
                .collect();
            let yn: Vec<bool> = night.iter().map(|c| c.iter().any(|&r| y[r])).collect();
            let k = options.capacity.min(night.len());
            hits += at_k(&pn, &yn, k).true_positives;
            slots += k;
        }
        let mut precision = wilson(hits.round() as usize, slots);
        precision.rate = hits / slots as f64;
        let evaluation = evaluate(p, y, Some(options.capacity * self.nights.len()))?;
        let (_, last) = crate::snapshot_dates(self.train)?;
        let (_, last_scored) = crate::snapshot_dates(self.test)?;
        Ok(PeriodResult {
            cutoff: self.cutoff.to_string(),
            last_date: last_scored.unwrap_or_default(),
            last_trained_date: last.unwrap_or_default(),
            train_rows: self.train.height(),
            train_positives: self.train_y.iter().filter(|&&v| v).count(),
            nights: self.nights.len(),
            precision_at_capacity: precision,
            evaluation,
            calibration: calibration(p, y),
            fairness: fairness_audits(self.test, p, y, &options.labelled.fairness)?,
        })
    }

    /// Writes the period's rows and each candidate's model, so that any
    /// figure can be checked with `safeflag evaluate`.
    fn keep(
        &self,
        dir: &Path,
        options: &BacktestOptions,
        input: &str,
        results: Vec<(Fitted, PeriodResult)>,
    ) -> Result<Vec<PeriodResult>> {
        create_private_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
        let train_file = dir.join("train.parquet");
        safeflag_ingest::write_frame(&mut self.train.clone(), &train_file)?;
        safeflag_ingest::write_frame(&mut self.test.clone(), &dir.join("test.parquet"))?;
        let sha = sha256_file(&train_file).map_err(|e| Error::io("hashing", &train_file, e))?;
        let (first, last) = crate::snapshot_dates(self.train)?;
        let mut out = Vec::with_capacity(results.len());
        for (c, (fitted, measured)) in options.candidates.iter().zip(results) {
            let training = TrainingInfo {
                input: format!("{input}, known on {}", self.cutoff),
                input_sha256: sha.clone(),
                rows_read: self.train.height(),
                rows_quarantined: 0,
                rows_fit: fitted.rows_fit,
                rows_calibration: fitted.rows_calibration,
                rows_test: self.test.height(),
                rows_excluded: 0,
                split: format!(
                    "backtest: trained on what was known on {}, tested on the {} days from it",
                    self.cutoff, options.period_days
                ),
                snapshot_dates: (
                    first.clone().unwrap_or_default(),
                    last.clone().unwrap_or_default(),
                ),
                prevalence_fit: fitted.prevalence_fit,
                synthetic: options.synthetic,
                families: Vec::new(),
            };
            let content = fitted.into_content(
                c.name.clone(),
                (c.params.clone(), training),
                (measured.evaluation.clone(), measured.fairness.clone()),
                None,
            );
            let model_dir = dir.join(&c.name);
            let artifact = ModelArtifact::save(content, &model_dir)?;
            write_bytes_atomic(
                &model_dir.join(safeflag_model::artifact::CARD_FILE),
                card::render(&artifact).as_bytes(),
            )?;
            out.push(measured);
        }
        Ok(out)
    }
}

/// Trains the chosen candidate on every labelled row (the usual training
/// procedure, split by time) and writes it with the backtest in its card.
fn train_chosen(
    options: &BacktestOptions,
    record: &BacktestRecord,
    scored: &DataFrame,
    out: &Path,
) -> Result<Trained> {
    let chosen = &record.candidates[record.chosen].candidate;
    let (input, _temp) = match &options.input {
        BacktestInput::Stack(path) => (path.clone(), None),
        BacktestInput::Extract { .. } => {
            let file = tempfile::Builder::new()
                .prefix("safeflag-backtest-")
                .suffix(".parquet")
                .tempfile()
                .map_err(|e| Error::io("creating a temporary file in", &std::env::temp_dir(), e))?;
            let path = file.into_temp_path();
            safeflag_ingest::write_frame(&mut scored.clone(), &path)?;
            (path.to_path_buf(), Some(path))
        }
    };
    train(&TrainOptions {
        input,
        input_name: Some(record.input.clone()),
        out: out.to_path_buf(),
        force: options.force,
        params: chosen.params.clone(),
        split: SplitPlan::ByTime { cutoff: None },
        calibration_fraction: options.calibration_fraction,
        k: Some(options.capacity),
        labelled: options.labelled.clone(),
        synthetic: options.synthetic,
        prompts: None,
        backtest: Some(record.clone()),
        families: crate::training::Families::Requested,
        features: crate::training::FeatureChoice::Given,
    })
}

fn dir_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Days since 1970-01-01 of every row's snapshot date.
fn day_numbers(frame: &DataFrame) -> Result<Vec<i32>> {
    let dates = frame
        .column("snapshot_date")?
        .as_materialized_series()
        .date()?
        .physical()
        .clone();
    if dates.null_count() > 0 {
        return Err(Error::internal("a labelled row has no snapshot date"));
    }
    Ok(dates.into_no_null_iter().collect())
}

fn from_epoch_days(days: i64) -> Result<NaiveDate> {
    safeflag_core::days::from_days(days)
        .ok_or_else(|| Error::input("a cut-off falls outside the calendar"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use safeflag_synth::{WorldParams, generate_world};

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// A generated world's tables, with `extra` incidents appended.
    fn world(seed: u64, extra: Option<DataFrame>) -> Extract {
        let mut w = generate_world(&WorldParams {
            children: 1_000,
            years: 3,
            seed,
            extracted_on: date("2025-12-31"),
            truth: false,
        });
        if let Some(extra) = extra {
            let incidents = w.tables.last_mut().unwrap();
            let names: Vec<String> = incidents
                .get_column_names()
                .iter()
                .map(|n| n.to_string())
                .collect();
            let extra = extra.select(names).unwrap();
            incidents.vstack_mut_owned(extra).unwrap();
        }
        Extract::from_frames(w.extracted_on, w.tables).unwrap()
    }

    /// Incidents of `children` recorded after `cutoff` (up to the extract
    /// date), each happening on a day from 400 days before the cut-off to
    /// its recording: facts an agency learnt only after the cut-off.
    fn future_incidents(children: &[String], cutoff: NaiveDate, seed: u64) -> DataFrame {
        let span = (date("2025-12-31") - cutoff).num_days().max(1) as u64;
        let mut state = seed | 1;
        let mut next = |m: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % m.max(1)
        };
        let (mut occurred, mut recorded) = (Vec::new(), Vec::new());
        for _ in children {
            let rec = cutoff + Days::new(1 + next(span - 1));
            let back = next(400 + (rec - cutoff).num_days() as u64);
            occurred.push(rec - Days::new(back));
            recorded.push(rec);
        }
        df!(
            "incident_id" => (0..children.len()).map(|i| format!("FUTURE-{i}")).collect::<Vec<_>>(),
            "child_id" => children,
            "occurred_on" => occurred,
            "recorded_on" => recorded,
            "severity" => vec!["serious_injury"; children.len()],
            "maltreatment" => vec![Some(true); children.len()],
        )
        .unwrap()
    }

    /// The labelled stack of `dates` as the agency could have built it on
    /// `cutoff`, the slow way: every snapshot rebuilt from the extract as it
    /// stood that day.
    fn rebuilt_on(
        x: &Extract,
        dates: &[NaiveDate],
        cutoff: NaiveDate,
        label: LabelOptions,
    ) -> DataFrame {
        let known = x.known_on(cutoff).unwrap();
        let dates: Vec<NaiveDate> = dates.iter().copied().filter(|&d| d <= cutoff).collect();
        safeflag_extract::stack(&known, &dates, label)
            .unwrap()
            .frame
    }

    /// What the backtest trains on at `cutoff`, from the whole extract.
    fn trained_on(
        x: &Extract,
        dates: &[NaiveDate],
        cutoff: NaiveDate,
        label: LabelOptions,
    ) -> DataFrame {
        let all = safeflag_extract::stack(x, dates, label).unwrap().frame;
        let days = day_numbers(&all).unwrap();
        let rows = Rows::Extract { x: x.clone() };
        training_rows(&rows, &all, &days, cutoff, label).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

        /// What a backtest trains on at a cut-off is a function of what was
        /// recorded by then: only labels whose window (and recording lag)
        /// had closed, and the same rows and labels however many incidents
        /// the agency learnt of later.
        #[test]
        fn a_cutoff_trains_only_on_labels_known_and_closed_by_then(
            seed in 0u64..1_000_000,
            offset in 0u64..420,
            window in prop::sample::select(vec![90u32, 180, 365]),
            lag in 0u32..120,
        ) {
            let x = world(seed, None);
            let cutoff = date("2024-06-01") + Days::new(offset);
            let dates = safeflag_extract::dates_every(date("2023-01-10"), date("2025-12-31"), 21).unwrap();
            let label = LabelOptions { window_days: window, lag_days: lag };
            let trained = trained_on(&x, &dates, cutoff, label);
            // The same rows as rebuilding every snapshot from the extract as
            // it stood on the cut-off.
            prop_assert!(trained.equals_missing(&rebuilt_on(&x, &dates, cutoff, label)));
            // Every row's window closed, with the lag, by the cut-off.
            let latest = epoch_days(cutoff) - (window + lag) as i32;
            prop_assert!(day_numbers(&trained).unwrap().iter().all(|&d| d <= latest));
            // The same rows and labels with incidents learnt after the cut-off
            // for every child trained on.
            let children: Vec<String> = trained
                .column("child_id").unwrap().str().unwrap()
                .iter().flatten().map(str::to_string).collect::<std::collections::BTreeSet<_>>()
                .into_iter().collect();
            let later = world(seed, Some(future_incidents(&children, cutoff, seed)));
            let again = trained_on(&later, &dates, cutoff, label);
            prop_assert!(trained.equals_missing(&again), "cut-off {cutoff}: the future changed the training rows");
            // ...which the whole extract's own stack does not hold: the
            // later incidents do reach labels built without the cut-off.
            let closed: Vec<NaiveDate> = dates.iter().copied().filter(|&d| epoch_days(d) <= latest).collect();
            let leaky = safeflag_extract::stack(&later, &closed, label).unwrap().frame;
            let positives = |f: &DataFrame| f.column("outcome_critical_incident").unwrap().bool().unwrap().sum().unwrap_or(0);
            prop_assert!(positives(&leaky) > positives(&trained));
        }
    }

    #[test]
    fn a_stack_file_keeps_only_rows_whose_window_closed_by_the_cutoff() {
        let frame = df!(
            "snapshot_date" => [date("2024-01-01"), date("2024-03-01"), date("2024-03-02")],
        )
        .unwrap();
        let days = day_numbers(&frame).unwrap();
        let label = LabelOptions {
            window_days: 30,
            lag_days: 10,
        };
        // 2024-03-01 + 40 days = 2024-04-10.
        let kept = training_rows(&Rows::Stack, &frame, &days, date("2024-04-10"), label).unwrap();
        assert_eq!(day_numbers(&kept).unwrap(), days[..2]);
        let none = training_rows(&Rows::Stack, &frame, &days, date("2024-02-09"), label);
        assert!(none.is_err());
    }
}
