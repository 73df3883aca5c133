//! Evaluation metrics for a heavily imbalanced outcome.
//!
//! Accuracy is useless when 1.5% of rows are positive, so safeflag reports
//! ranking quality (ROC AUC, average precision), probability quality (Brier,
//! calibration table) and, above all, precision and recall at the queue size
//! reviewers can staff. Ties in scores are handled explicitly everywhere:
//! AUC counts a tied positive-negative pair as one half; average precision
//! steps only at distinct scores; precision at k takes the expected value
//! over the random order of the cases tied at the cut-off.

use serde::{Deserialize, Serialize};

/// Indices sorted by score descending, then by index (a stable, total order).
pub fn rank_desc(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

/// Runs of equal score in a descending order: `(positives, negatives)` per run.
fn tie_groups(scores: &[f64], labels: &[bool], order: &[usize]) -> Vec<(usize, usize)> {
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut last: Option<f64> = None;
    for &i in order {
        if last != Some(scores[i]) {
            groups.push((0, 0));
            last = Some(scores[i]);
        }
        let g = groups.last_mut().expect("pushed above");
        if labels[i] {
            g.0 += 1;
        } else {
            g.1 += 1;
        }
    }
    groups
}

/// Area under the ROC curve; a tied positive-negative pair counts one half.
/// `None` when one class is absent.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), labels.len());
    let order = rank_desc(scores);
    let groups = tie_groups(scores, labels, &order);
    let p: usize = groups.iter().map(|g| g.0).sum();
    let n: usize = groups.iter().map(|g| g.1).sum();
    if p == 0 || n == 0 {
        return None;
    }
    // Walk from the highest score: each positive beats every negative below it.
    let mut negatives_below = n as f64;
    let mut wins = 0.0;
    for (pos, neg) in groups {
        negatives_below -= neg as f64;
        wins += pos as f64 * (negatives_below + neg as f64 / 2.0);
    }
    Some(wins / (p as f64 * n as f64))
}

/// Average precision: the sum over distinct score thresholds of
/// (recall gained) x (precision there). `None` without positives.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), labels.len());
    let order = rank_desc(scores);
    let groups = tie_groups(scores, labels, &order);
    let p: usize = groups.iter().map(|g| g.0).sum();
    if p == 0 {
        return None;
    }
    let (mut tp, mut fp, mut ap) = (0usize, 0usize, 0.0);
    for (pos, neg) in groups {
        tp += pos;
        fp += neg;
        if pos > 0 {
            ap += (pos as f64 / p as f64) * (tp as f64 / (tp + fp) as f64);
        }
    }
    Some(ap)
}

/// Mean squared error of probabilities against outcomes.
pub fn brier(probabilities: &[f64], labels: &[bool]) -> f64 {
    assert_eq!(probabilities.len(), labels.len());
    if labels.is_empty() {
        return f64::NAN;
    }
    probabilities
        .iter()
        .zip(labels)
        .map(|(p, &y)| (p - f64::from(u8::from(y))).powi(2))
        .sum::<f64>()
        / labels.len() as f64
}

/// Precision and recall of a queue of the top `k` rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AtK {
    /// Queue size.
    pub k: usize,
    /// Expected true positives in the queue (fractional when ties straddle the cut-off).
    pub true_positives: f64,
    /// `true_positives / k`.
    pub precision: f64,
    /// `true_positives / all positives` (`NaN` without positives).
    pub recall: f64,
    /// Rows tied with the k-th score, on both sides of the cut-off.
    pub tied_at_cutoff: usize,
}

/// Precision and recall at `k`, with the cases tied at the k-th score taken
/// in expectation over their random order (so the metric does not depend on
/// an arbitrary tie-break).
pub fn at_k(scores: &[f64], labels: &[bool], k: usize) -> AtK {
    assert_eq!(scores.len(), labels.len());
    let k = k.min(scores.len());
    let positives = labels.iter().filter(|&&y| y).count();
    if k == 0 {
        return AtK {
            k,
            true_positives: 0.0,
            precision: f64::NAN,
            recall: 0.0,
            tied_at_cutoff: 0,
        };
    }
    let order = rank_desc(scores);
    let t = scores[order[k - 1]];
    let (mut above, mut pos_above, mut tied, mut pos_tied) = (0usize, 0usize, 0usize, 0usize);
    for (&s, &y) in scores.iter().zip(labels) {
        if s > t {
            above += 1;
            pos_above += usize::from(y);
        } else if s == t {
            tied += 1;
            pos_tied += usize::from(y);
        }
    }
    let take = (k - above) as f64;
    let tp = pos_above as f64 + pos_tied as f64 * take / tied as f64;
    AtK {
        k,
        true_positives: tp,
        precision: tp / k as f64,
        recall: if positives == 0 {
            f64::NAN
        } else {
            tp / positives as f64
        },
        tied_at_cutoff: tied,
    }
}

/// The queue size for the top `fraction` of `n` rows (at least 1 when n > 0).
pub fn k_for_fraction(n: usize, fraction: f64) -> usize {
    ((n as f64 * fraction).ceil() as usize).clamp(usize::from(n > 0), n)
}

/// One bin of a calibration table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Bin number, 1 = lowest predicted risk.
    pub bin: usize,
    /// Rows in the bin.
    pub n: usize,
    /// Mean predicted probability.
    pub mean_predicted: f64,
    /// Observed outcome rate.
    pub observed_rate: f64,
    /// Positives in the bin.
    pub positives: usize,
}

/// Calibration by equal-count bins of predicted probability (deciles for `bins` = 10).
pub fn calibration_table(
    probabilities: &[f64],
    labels: &[bool],
    bins: usize,
) -> Vec<CalibrationBin> {
    let n = probabilities.len();
    let mut order: Vec<usize> = rank_desc(probabilities);
    order.reverse();
    (0..bins)
        .filter_map(|b| {
            let (lo, hi) = (b * n / bins, (b + 1) * n / bins);
            if lo == hi {
                return None;
            }
            let rows = &order[lo..hi];
            let positives = rows.iter().filter(|&&i| labels[i]).count();
            Some(CalibrationBin {
                bin: b + 1,
                n: rows.len(),
                mean_predicted: rows.iter().map(|&i| probabilities[i]).sum::<f64>()
                    / rows.len() as f64,
                observed_rate: positives as f64 / rows.len() as f64,
                positives,
            })
        })
        .collect()
}

/// Flags the top `k` rows (ties broken by row order, so the set is deterministic).
pub fn flag_top_k(scores: &[f64], k: usize) -> Vec<bool> {
    let mut flags = vec![false; scores.len()];
    for &i in rank_desc(scores).iter().take(k) {
        flags[i] = true;
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: bool = true;
    const F: bool = false;

    #[test]
    fn auc_by_hand() {
        // Pairs (pos, neg): (0.9,0.8) win, (0.9,0.3) win, (0.4,0.8) loss, (0.4,0.3) win -> 3/4.
        assert_eq!(roc_auc(&[0.9, 0.8, 0.4, 0.3], &[T, F, T, F]), Some(0.75));
        assert_eq!(roc_auc(&[0.9, 0.8], &[T, T]), None);
    }

    #[test]
    fn auc_counts_ties_as_half() {
        // One positive and one negative tied at 0.5, one negative below: (0.5 + 1) / 2.
        assert_eq!(roc_auc(&[0.5, 0.5, 0.1], &[T, F, F]), Some(0.75));
        // All tied: 0.5 whatever the labels.
        assert_eq!(roc_auc(&[0.2; 4], &[T, F, F, T]), Some(0.5));
    }

    #[test]
    fn average_precision_by_hand() {
        // Ranked: T(0.9) F(0.8) T(0.4) F(0.3): AP = 1/2 * 1/1 + 1/2 * 2/3.
        let ap = average_precision(&[0.9, 0.8, 0.4, 0.3], &[T, F, T, F]).unwrap();
        assert!((ap - (0.5 + 1.0 / 3.0)).abs() < 1e-12);
        // A tie between a positive and a negative at the top is one step: 1 * 1/2.
        let ap = average_precision(&[0.7, 0.7, 0.1], &[T, F, F]).unwrap();
        assert!((ap - 0.5).abs() < 1e-12);
    }

    #[test]
    fn brier_by_hand() {
        assert!((brier(&[1.0, 0.0, 0.5], &[T, F, T]) - 0.25 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn precision_at_k_takes_ties_in_expectation() {
        // Scores 0.9(T) then three tied at 0.5 (T, F, F), then 0.1 (T). k = 2:
        // one row above, one of three tied taken: tp = 1 + 1 * 1/3.
        let r = at_k(&[0.9, 0.5, 0.5, 0.5, 0.1], &[T, T, F, F, T], 2);
        assert!((r.true_positives - 4.0 / 3.0).abs() < 1e-12);
        assert!((r.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.recall - 4.0 / 9.0).abs() < 1e-12);
        assert_eq!(r.tied_at_cutoff, 3);
        // No ties: plain counting.
        let r = at_k(&[0.9, 0.8, 0.4, 0.3], &[T, F, T, F], 3);
        assert_eq!(r.true_positives, 2.0);
        assert_eq!(r.recall, 1.0);
    }

    #[test]
    fn k_for_fraction_rounds_up() {
        assert_eq!(k_for_fraction(1000, 0.01), 10);
        assert_eq!(k_for_fraction(1001, 0.01), 11);
        assert_eq!(k_for_fraction(5, 0.01), 1);
        assert_eq!(k_for_fraction(0, 0.01), 0);
    }

    #[test]
    fn calibration_deciles() {
        let p: Vec<f64> = (0..20).map(|i| i as f64 / 20.0).collect();
        let y: Vec<bool> = (0..20).map(|i| i >= 18).collect();
        let t = calibration_table(&p, &y, 10);
        assert_eq!(t.len(), 10);
        assert_eq!(t[0].n, 2);
        assert!((t[0].mean_predicted - 0.025).abs() < 1e-12);
        assert_eq!(t[9].positives, 2);
        assert_eq!(t[9].observed_rate, 1.0);
        assert_eq!(t[8].observed_rate, 0.0);
    }

    #[test]
    fn top_k_flags_break_ties_by_row() {
        assert_eq!(flag_top_k(&[0.5, 0.9, 0.5, 0.1], 2), vec![T, T, F, F]);
    }
}
