//! The test-side evaluation recorded in every artifact.

use serde::{Deserialize, Serialize};

use crate::metrics::{self, AtK, CalibrationBin};
use crate::{Error, Result};

/// Metrics of calibrated probabilities against outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Rows evaluated.
    pub rows: usize,
    /// Positives among them.
    pub positives: usize,
    /// Outcome rate.
    pub prevalence: f64,
    /// ROC AUC.
    pub roc_auc: f64,
    /// Average precision (PR AUC).
    pub average_precision: f64,
    /// Brier score of the calibrated probabilities.
    pub brier: f64,
    /// The top 1% of rows.
    pub top_1_percent: AtK,
    /// The top 5% of rows.
    pub top_5_percent: AtK,
    /// A queue of the requested size, if any.
    pub at_k: Option<AtK>,
    /// Calibration by decile of predicted probability.
    pub calibration: Vec<CalibrationBin>,
}

/// Evaluates probabilities; `k` adds precision and recall at a queue size.
pub fn evaluate(probabilities: &[f64], labels: &[bool], k: Option<usize>) -> Result<Evaluation> {
    let n = labels.len();
    let positives = labels.iter().filter(|&&y| y).count();
    if positives == 0 || positives == n {
        return Err(Error::Evaluate(format!(
            "the evaluation rows hold {positives} positives of {n}: both outcomes are needed"
        )));
    }
    Ok(Evaluation {
        rows: n,
        positives,
        prevalence: positives as f64 / n as f64,
        roc_auc: metrics::roc_auc(probabilities, labels).expect("both classes present"),
        average_precision: metrics::average_precision(probabilities, labels)
            .expect("positives present"),
        brier: metrics::brier(probabilities, labels),
        top_1_percent: metrics::at_k(probabilities, labels, metrics::k_for_fraction(n, 0.01)),
        top_5_percent: metrics::at_k(probabilities, labels, metrics::k_for_fraction(n, 0.05)),
        at_k: k.map(|k| metrics::at_k(probabilities, labels, k.max(1))),
        calibration: metrics::calibration_table(probabilities, labels, 10),
    })
}
