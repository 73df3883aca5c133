//! Training distributions of features, kept in the artifact for drift checks.
//!
//! Each feature's training values are summarised as bins with their shares;
//! on a later snapshot the same bins give the population stability index
//! (PSI). Binary features get two bins (0 and 1); others get up to ten
//! equal-count bins, merged where values repeat.

use serde::{Deserialize, Serialize};

/// One feature's binned training distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDistribution {
    /// Feature name.
    pub name: String,
    /// Upper edges of all bins but the last (a value `v` falls in the first bin with `v <= edge`).
    pub edges: Vec<f64>,
    /// Share of training rows in each bin (`edges.len() + 1` entries).
    pub shares: Vec<f64>,
    /// Training mean.
    pub mean: f64,
}

impl FeatureDistribution {
    /// Summarises training values.
    pub fn fit(name: &str, values: &[f64]) -> FeatureDistribution {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let mut edges: Vec<f64> = Vec::new();
        if n > 0 {
            for i in 1..10 {
                let e = sorted[(i * n / 10).min(n - 1)];
                if edges.last().is_none_or(|&last| e > last) && e < sorted[n - 1] {
                    edges.push(e);
                }
            }
            if edges.is_empty() && sorted[0] < sorted[n - 1] {
                edges.push(sorted[0]);
            }
        }
        let shares = shares(&edges, values);
        let mean = if n == 0 {
            0.0
        } else {
            values.iter().sum::<f64>() / n as f64
        };
        FeatureDistribution {
            name: name.to_string(),
            edges,
            shares,
            mean,
        }
    }

    /// The population stability index of `values` against the training distribution.
    pub fn psi(&self, values: &[f64]) -> f64 {
        psi(&self.shares, &shares(&self.edges, values))
    }
}

/// Share of `values` in each bin of `edges`.
pub fn shares(edges: &[f64], values: &[f64]) -> Vec<f64> {
    let mut counts = vec![0usize; edges.len() + 1];
    for v in values {
        counts[edges.partition_point(|&e| e < *v)] += 1;
    }
    let n = values.len().max(1) as f64;
    counts.into_iter().map(|c| c as f64 / n).collect()
}

/// PSI = sum over bins of (actual - expected) * ln(actual / expected), with
/// empty bins floored at 0.0001 so the index stays finite.
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    expected
        .iter()
        .zip(actual)
        .map(|(&e, &a)| {
            let (e, a) = (e.max(1e-4), a.max(1e-4));
            (a - e) * (a / e).ln()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_feature_has_two_bins() {
        let d = FeatureDistribution::fit("f", &[0.0, 0.0, 0.0, 1.0]);
        assert_eq!(d.edges, vec![0.0]);
        assert_eq!(d.shares, vec![0.75, 0.25]);
        assert_eq!(d.psi(&[0.0, 0.0, 0.0, 1.0]), 0.0);
    }

    #[test]
    fn shifted_values_raise_psi() {
        let train: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let d = FeatureDistribution::fit("f", &train);
        assert!(d.edges.len() == 9, "{:?}", d.edges);
        assert!(d.psi(&train) < 1e-9);
        let shifted: Vec<f64> = train.iter().map(|v| v + 300.0).collect();
        assert!(d.psi(&shifted) > 0.2, "{}", d.psi(&shifted));
    }

    #[test]
    fn psi_by_hand() {
        // (0.6-0.5) ln(1.2) + (0.4-0.5) ln(0.8)
        let want = 0.1 * 1.2f64.ln() - 0.1 * 0.8f64.ln();
        assert!((psi(&[0.5, 0.5], &[0.6, 0.4]) - want).abs() < 1e-12);
    }
}
