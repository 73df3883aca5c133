//! What a rolling-origin backtest found, and the choice it makes.
//!
//! A backtest trains each candidate at several cut-off dates on what was
//! known by then and scores the period after each. A model that is best on
//! average can still be the worst in the one period that matters, so the
//! choice is by regret: in each period a candidate's regret is how far its
//! figure falls short of the best candidate's in that period, and the chosen
//! candidate has the smallest worst regret (then the smallest mean regret,
//! then comes first in the list, which puts the simpler settings first).
//! The record lives here because a chosen model's artifact (and card) carries
//! it.

use serde::{Deserialize, Serialize};

use crate::TrainParams;
use crate::evaluate::Evaluation;
use crate::fairness::FairnessTable;
use crate::metrics::{Calibration, Rate};

/// Which figure the choice is made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Criterion {
    /// Precision of each night's queue at the configured size, pooled over
    /// the period's nights: what reviewers see.
    Precision,
    /// Average precision (area under the precision-recall curve) over the
    /// period's rows.
    AveragePrecision,
    /// ROC AUC over the period's rows.
    Auc,
}

impl Criterion {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::Precision => "precision",
            Criterion::AveragePrecision => "average-precision",
            Criterion::Auc => "auc",
        }
    }
}

/// A candidate model: a name and its training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// A short name, e.g. `logistic-l2-1`.
    pub name: String,
    /// The settings it is trained with.
    pub params: TrainParams,
}

/// One candidate in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodResult {
    /// The cut-off: training used only what was recorded by this day.
    pub cutoff: String,
    /// The last snapshot date scored in the period.
    pub last_date: String,
    /// The last snapshot date trained on (its window closed, with the
    /// recording lag, by the cut-off).
    pub last_trained_date: String,
    /// Rows trained on (fit and calibration).
    pub train_rows: usize,
    /// Rows with an incident among them.
    pub train_positives: usize,
    /// Nights (snapshot dates) scored in the period.
    pub nights: usize,
    /// Each night's top `capacity` cases (ranked by their highest-risk
    /// child), pooled over the nights: the share with a child who had an
    /// incident in the window, with its 95% interval.
    pub precision_at_capacity: Rate,
    /// The period's child rows evaluated as `safeflag evaluate` does, at
    /// `k = capacity x nights`.
    pub evaluation: Evaluation,
    /// Observed against expected incidents, and the calibration slope.
    pub calibration: Calibration,
    /// Flag rates and error rates by race/ethnicity and age band (top 5%).
    pub fairness: Vec<FairnessTable>,
}

impl PeriodResult {
    /// The figure a criterion reads.
    pub fn value(&self, criterion: Criterion) -> f64 {
        match criterion {
            Criterion::Precision => self.precision_at_capacity.rate,
            Criterion::AveragePrecision => self.evaluation.average_precision,
            Criterion::Auc => self.evaluation.roc_auc,
        }
    }
}

/// One candidate over every period, with its regret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateResult {
    /// The candidate.
    pub candidate: Candidate,
    /// One result per period, in cut-off order.
    pub periods: Vec<PeriodResult>,
    /// Mean of the criterion over the periods.
    pub mean: f64,
    /// Its largest shortfall against the period's best candidate.
    pub worst_regret: f64,
    /// Its mean shortfall.
    pub mean_regret: f64,
}

/// A whole backtest, as a chosen model's card records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestRecord {
    /// What it ran on, in words.
    pub input: String,
    /// The label window, in days after a snapshot date.
    pub window_days: u32,
    /// The recording lag allowed for before a window counts as closed.
    pub lag_days: u32,
    /// Cases in each night's queue.
    pub capacity: usize,
    /// Days in each period after a cut-off.
    pub period_days: u32,
    /// What the choice was made on.
    pub criterion: Criterion,
    /// Every candidate's results.
    pub candidates: Vec<CandidateResult>,
    /// Index of the chosen candidate.
    pub chosen: usize,
}

/// Worst and mean regret of each candidate, from `values[candidate][period]`
/// (higher is better), and the chosen index: the smallest worst regret, then
/// the smallest mean regret, then the first.
pub fn choose(values: &[Vec<f64>]) -> (usize, Vec<(f64, f64)>) {
    let periods = values.first().map_or(0, Vec::len);
    let best: Vec<f64> = (0..periods)
        .map(|p| {
            values
                .iter()
                .map(|v| v[p])
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    let regrets: Vec<(f64, f64)> = values
        .iter()
        .map(|v| {
            let r: Vec<f64> = v.iter().zip(&best).map(|(x, b)| b - x).collect();
            let worst = r.iter().copied().fold(0.0, f64::max);
            (worst, r.iter().sum::<f64>() / r.len().max(1) as f64)
        })
        .collect();
    let mut chosen = 0;
    for (i, r) in regrets.iter().enumerate() {
        let c = regrets[chosen];
        if r.0 < c.0 - 1e-12 || ((r.0 - c.0).abs() <= 1e-12 && r.1 < c.1 - 1e-12) {
            chosen = i;
        }
    }
    (chosen, regrets)
}

/// Assembles the record from each candidate's periods.
pub fn record(
    input: String,
    settings: (u32, u32, usize, u32),
    criterion: Criterion,
    results: Vec<(Candidate, Vec<PeriodResult>)>,
) -> BacktestRecord {
    let values: Vec<Vec<f64>> = results
        .iter()
        .map(|(_, ps)| ps.iter().map(|p| p.value(criterion)).collect())
        .collect();
    let (chosen, regrets) = choose(&values);
    let candidates = results
        .into_iter()
        .zip(values.iter().zip(regrets))
        .map(
            |((candidate, periods), (v, (worst, mean_regret)))| CandidateResult {
                candidate,
                periods,
                mean: v.iter().sum::<f64>() / v.len().max(1) as f64,
                worst_regret: worst,
                mean_regret,
            },
        )
        .collect();
    let (window_days, lag_days, capacity, period_days) = settings;
    BacktestRecord {
        input,
        window_days,
        lag_days,
        capacity,
        period_days,
        criterion,
        candidates,
        chosen,
    }
}

impl BacktestRecord {
    /// The candidates side by side, one row of text cells each: name,
    /// family settings, mean criterion, worst and mean regret, mean AUC and
    /// whether it was chosen.
    pub fn candidate_rows(&self) -> Vec<[String; 6]> {
        self.candidates
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let auc = c.periods.iter().map(|p| p.evaluation.roc_auc).sum::<f64>()
                    / c.periods.len().max(1) as f64;
                [
                    c.candidate.name.clone(),
                    format!("{:.4}", c.mean),
                    format!("{:.4}", c.worst_regret),
                    format!("{:.4}", c.mean_regret),
                    format!("{auc:.4}"),
                    if i == self.chosen { "chosen" } else { "" }.to_string(),
                ]
            })
            .collect()
    }

    /// The chosen candidate's periods, one row of text cells each: cut-off,
    /// nights, rows trained on, precision at capacity with its interval,
    /// AUC, observed/expected, the calibration slope, and how many group
    /// ratios of the fairness audits fell outside their band.
    pub fn period_rows(&self) -> Vec<[String; 8]> {
        self.candidates[self.chosen]
            .periods
            .iter()
            .map(|p| {
                let r = &p.precision_at_capacity;
                [
                    p.cutoff.clone(),
                    p.nights.to_string(),
                    p.train_rows.to_string(),
                    format!("{:.3} [{:.3}, {:.3}]", r.rate, r.low, r.high),
                    format!("{:.4}", p.evaluation.roc_auc),
                    format!("{:.2}", p.calibration.ratio),
                    p.calibration
                        .slope
                        .map_or_else(|| "-".to_string(), |s| format!("{s:.2}")),
                    p.fairness
                        .iter()
                        .map(|t| t.miscalibrated().len())
                        .sum::<usize>()
                        .to_string(),
                ]
            })
            .collect()
    }
}

/// Headers of [`BacktestRecord::candidate_rows`].
pub const CANDIDATE_HEADERS: [&str; 6] = [
    "candidate",
    "mean",
    "worst regret",
    "mean regret",
    "mean AUC",
    "",
];

/// Headers of [`BacktestRecord::period_rows`].
pub const PERIOD_HEADERS: [&str; 8] = [
    "cut-off",
    "nights",
    "trained on",
    "precision at capacity [95% CI]",
    "AUC",
    "O/E",
    "slope",
    "groups miscalibrated",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steady_candidate_beats_the_one_best_on_average() {
        // A is best on average (0.30) but collapses in period 3; B is never
        // far from the best.
        let a = vec![0.40, 0.40, 0.10];
        let b = vec![0.33, 0.33, 0.20];
        let c = vec![0.20, 0.20, 0.15];
        let (chosen, regrets) = choose(&[a, b, c]);
        assert_eq!(chosen, 1);
        assert!((regrets[0].0 - 0.10).abs() < 1e-12);
        assert!((regrets[1].0 - 0.07).abs() < 1e-12);
        assert!((regrets[2].0 - 0.20).abs() < 1e-12);
        assert!((regrets[1].1 - (0.07 + 0.07 + 0.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn ties_go_to_the_smaller_mean_regret_then_the_first() {
        let (chosen, _) = choose(&[vec![0.1, 0.3], vec![0.2, 0.2], vec![0.1, 0.3]]);
        // Worst regrets: 0.1, 0.1, 0.1; mean regrets 0.05, 0.05, 0.05: the first.
        assert_eq!(chosen, 0);
        let (chosen, _) = choose(&[vec![0.1, 0.3, 0.3], vec![0.2, 0.2, 0.3]]);
        // Worst 0.1 each; means 0.1/3 and 0.1/3: the first again.
        assert_eq!(chosen, 0);
        let (chosen, _) = choose(&[vec![0.1, 0.3, 0.2], vec![0.2, 0.2, 0.3]]);
        // Worst 0.1 each; means 0.2/3 against 0.1/3: the second.
        assert_eq!(chosen, 1);
    }
}
