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

/// Ranks from 1 (lowest) with ties given their average rank.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &o in &order[i..=j] {
            ranks[o] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// Spearman's rank correlation (Pearson's on average ranks); `None` with
/// fewer than two values or when either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    assert_eq!(a.len(), b.len());
    if a.len() < 2 {
        return None;
    }
    let (ra, rb) = (average_ranks(a), average_ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

/// A share with its 95% Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// Rows with the event.
    pub hits: usize,
    /// Rows.
    pub n: usize,
    /// `hits / n` (`NaN` when `n` is 0).
    pub rate: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end of the 95% interval.
    pub high: f64,
}

/// The normal quantile of a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// `hits` of `n` with its 95% Wilson score interval, which stays inside
/// [0, 1] and is honest for the small counts a queue's precision has (a
/// normal interval on 3 of 40 would reach below zero).
pub fn wilson(hits: usize, n: usize) -> Rate {
    if n == 0 {
        return Rate {
            hits,
            n,
            rate: f64::NAN,
            low: f64::NAN,
            high: f64::NAN,
        };
    }
    let (x, nf, z2) = (hits as f64, n as f64, Z95 * Z95);
    let p = x / nf;
    let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
    let half = Z95 / (1.0 + z2 / nf) * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    Rate {
        hits,
        n,
        rate: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

/// Calibration of probabilities against realised outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Rows.
    pub n: usize,
    /// Outcomes expected: the sum of the probabilities.
    pub expected: f64,
    /// Outcomes observed.
    pub observed: usize,
    /// Observed over expected (calibration-in-the-large as a ratio; 1 is
    /// perfect).
    pub ratio: f64,
    /// `(observed - expected) / sqrt(sum p(1-p))`: how many standard errors
    /// the observed count lies from the expected one if the probabilities
    /// were right.
    pub z: f64,
    /// The two-sided p-value of `z`.
    pub p_value: f64,
    /// `sqrt(sum p(1-p))`: the standard deviation of the observed count if
    /// the probabilities were right (the interval of O/E is
    /// `(observed +- 1.96 sd) / expected`).
    #[serde(default)]
    pub sd: f64,
    /// The slope of a logistic regression of the outcome on the logit of
    /// the probability (1 is perfect; below 1, the probabilities are too
    /// spread out). `None` without both outcomes or when the fit fails.
    pub slope: Option<f64>,
    /// Its intercept.
    pub intercept: Option<f64>,
}

/// Calibration-in-the-large (observed against expected, with its test) and
/// the calibration slope.
pub fn calibration(probabilities: &[f64], labels: &[bool]) -> Calibration {
    assert_eq!(probabilities.len(), labels.len());
    let expected: f64 = probabilities.iter().sum();
    let variance: f64 = probabilities.iter().map(|p| p * (1.0 - p)).sum();
    let observed = labels.iter().filter(|&&y| y).count();
    let z = if variance > 0.0 {
        (observed as f64 - expected) / variance.sqrt()
    } else {
        f64::NAN
    };
    let fit = logistic_fit_on_logit(probabilities, labels);
    Calibration {
        n: probabilities.len(),
        expected,
        observed,
        ratio: observed as f64 / expected,
        z,
        p_value: libm::erfc(z.abs() / std::f64::consts::SQRT_2),
        sd: variance.sqrt(),
        slope: fit.map(|f| f.1),
        intercept: fit.map(|f| f.0),
    }
}

/// `(a, b)` of `P(y) = 1 / (1 + exp(-(a + b logit(p))))` by Newton's method
/// on the two parameters, each step halved until the likelihood rises (plain
/// Newton can overshoot far from the answer); `None` when one outcome is
/// absent or the fit does not converge.
fn logistic_fit_on_logit(probabilities: &[f64], labels: &[bool]) -> Option<(f64, f64)> {
    let positives = labels.iter().filter(|&&y| y).count();
    if positives == 0 || positives == labels.len() {
        return None;
    }
    let x: Vec<f64> = probabilities
        .iter()
        .map(|&p| {
            let p = p.clamp(1e-12, 1.0 - 1e-12);
            (p / (1.0 - p)).ln()
        })
        .collect();
    // The log-likelihood, with log(1 + e^t) computed without overflow.
    let loglik = |a: f64, b: f64| -> f64 {
        x.iter()
            .zip(labels)
            .map(|(&xi, &y)| {
                let t = a + b * xi;
                let softplus = t.max(0.0) + (-t.abs()).exp().ln_1p();
                if y { t - softplus } else { -softplus }
            })
            .sum()
    };
    let (mut a, mut b) = (0.0f64, 1.0f64);
    let mut ll = loglik(a, b);
    for _ in 0..100 {
        let (mut g0, mut g1, mut h00, mut h01, mut h11) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&xi, &y) in x.iter().zip(labels) {
            let m = 1.0 / (1.0 + (-(a + b * xi)).exp());
            let r = f64::from(u8::from(y)) - m;
            let w = m * (1.0 - m);
            g0 += r;
            g1 += r * xi;
            h00 += w;
            h01 += w * xi;
            h11 += w * xi * xi;
        }
        let det = h00 * h11 - h01 * h01;
        if det.abs() < 1e-300 {
            return None;
        }
        let (mut da, mut db) = ((h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det);
        let mut halvings = 0;
        let next = loop {
            let l = loglik(a + da, b + db);
            if l >= ll || halvings == 30 {
                break l;
            }
            da /= 2.0;
            db /= 2.0;
            halvings += 1;
        };
        a += da;
        b += db;
        ll = next;
        if !(a.is_finite() && b.is_finite()) {
            return None;
        }
        if da.abs() < 1e-10 && db.abs() < 1e-10 {
            return Some((a, b));
        }
    }
    None
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

    #[test]
    fn spearman_matches_the_textbook_formula_without_ties_and_averages_ties() {
        // Without ties: 1 - 6 sum d^2 / (n (n^2 - 1)); d = (0, 1, -1, 0, 0) gives 1 - 12/120.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [10.0, 30.0, 20.0, 40.0, 50.0];
        assert!((spearman(&a, &b).unwrap() - 0.9).abs() < 1e-12);
        assert_eq!(spearman(&a, &a), Some(1.0));
        let rev: Vec<f64> = a.iter().map(|v| -v).collect();
        assert!((spearman(&a, &rev).unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(
            average_ranks(&[5.0, 1.0, 5.0, 3.0]),
            vec![3.5, 1.0, 3.5, 2.0]
        );
        assert_eq!(spearman(&a, &[1.0; 5]), None);
    }

    use super::*;

    const T: bool = true;

    #[test]
    fn wilson_matches_the_textbook_interval() {
        // 3 of 40: the Wilson interval is [0.0258, 0.1986] (Newcombe 1998, method 3).
        let r = wilson(3, 40);
        assert!((r.rate - 0.075).abs() < 1e-12);
        assert!((r.low - 0.0258).abs() < 5e-4, "{r:?}");
        assert!((r.high - 0.1986).abs() < 5e-4, "{r:?}");
        let none = wilson(0, 20);
        assert_eq!(none.low, 0.0);
        assert!((none.high - 0.1611).abs() < 5e-4, "{none:?}");
        assert!(wilson(0, 0).rate.is_nan());
    }

    #[test]
    fn calibration_of_true_probabilities_has_slope_one_and_ratio_one() {
        // Outcomes drawn from the probabilities themselves, deterministically:
        // each probability p_i gets the share p_i of positives within its group.
        let mut p = Vec::new();
        let mut y = Vec::new();
        for &pi in &[0.02, 0.05, 0.1, 0.2, 0.4] {
            let n = 2000;
            let pos = (pi * n as f64).round() as usize;
            for i in 0..n {
                p.push(pi);
                y.push(i < pos);
            }
        }
        let c = calibration(&p, &y);
        assert!((c.ratio - 1.0).abs() < 1e-9, "{c:?}");
        assert!(c.z.abs() < 1e-9);
        assert!((c.slope.unwrap() - 1.0).abs() < 1e-6, "{c:?}");
        assert!(c.intercept.unwrap().abs() < 1e-6, "{c:?}");
        // Probabilities spread out twice too far (logit doubled): slope 1/2.
        let spread: Vec<f64> = p
            .iter()
            .map(|&q| {
                let l = 2.0 * (q / (1.0 - q)).ln();
                1.0 / (1.0 + (-l).exp())
            })
            .collect();
        let c2 = calibration(&spread, &y);
        assert!((c2.slope.unwrap() - 0.5).abs() < 1e-6, "{c2:?}");
        // Prevalence doubled: observed twice what is expected, far outside chance.
        let doubled: Vec<f64> = p.iter().map(|q| q / 2.0).collect();
        let c3 = calibration(&doubled, &y);
        assert!(
            c3.ratio > 1.9 && c3.z > 10.0 && c3.p_value < 1e-20,
            "{c3:?}"
        );
        assert!(calibration(&[0.1, 0.2], &[false, false]).slope.is_none());
    }

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
