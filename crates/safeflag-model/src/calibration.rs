//! Calibration and bands: turning log-odds into words a reviewer can trust.
//!
//! Probabilities are Platt-scaled on cases the model was not trained on, so a
//! "3%" means about 3 in 100. Bands follow the Allegheny tool: ventiles 1-20
//! of the calibrated probability over the calibration population, with named
//! tiers (low 1-9, medium 10-14, high 15-20). A probability is never shown as
//! a certainty: it is capped below 1 in presentation, see [`describe`].

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// `P = sigmoid(a * log_odds + b)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    /// Slope on the model's log-odds.
    pub a: f64,
    /// Offset.
    pub b: f64,
}

impl Platt {
    /// Fits the two parameters on held-out log-odds and outcomes (linfa, no penalty).
    pub fn fit(log_odds: &[f64], y: &[bool]) -> Result<Platt> {
        let x = Array2::from_shape_vec((log_odds.len(), 1), log_odds.to_vec())
            .map_err(|e| Error::Train(e.to_string()))?;
        let dataset = Dataset::new(x, Array1::from(y.to_vec()));
        let fitted = LogisticRegression::default()
            .alpha(0.0)
            .max_iterations(100)
            .fit(&dataset)
            .map_err(|e| Error::Train(format!("calibration: {e}")))?;
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        Ok(Platt {
            a: fitted.params()[0] * sign,
            b: fitted.intercept() * sign,
        })
    }

    /// The calibrated probability.
    pub fn probability(&self, log_odds: f64) -> f64 {
        1.0 / (1.0 + (-(self.a * log_odds + self.b)).exp())
    }
}

/// Cut-points of the 20 bands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bands {
    /// 19 increasing probabilities: the 5th, 10th, ... 95th percentiles.
    pub cuts: Vec<f64>,
}

impl Bands {
    /// Ventile cut-points of `probabilities`.
    pub fn fit(probabilities: &[f64]) -> Bands {
        let mut p = probabilities.to_vec();
        p.sort_by(f64::total_cmp);
        let n = p.len();
        let cuts = (1..20)
            .map(|i| {
                if n == 0 {
                    0.0
                } else {
                    p[((i * n) / 20).min(n - 1)]
                }
            })
            .collect();
        Bands { cuts }
    }

    /// The band, 1 (lowest risk) to 20 (highest).
    pub fn band(&self, probability: f64) -> u8 {
        1 + self.cuts.partition_point(|&c| c <= probability) as u8
    }
}

/// The named tier of a band.
pub fn tier(band: u8) -> &'static str {
    match band {
        0..=9 => "low",
        10..=14 => "medium",
        _ => "high",
    }
}

/// A probability in plain words, never as a certainty: "about 3 in 100".
pub fn describe(probability: f64) -> String {
    let per100 = probability * 100.0;
    if per100 < 1.0 {
        "less than 1 in 100".to_string()
    } else if per100 >= 99.0 {
        "more than 99 in 100 (not a certainty)".to_string()
    } else {
        format!("about {} in 100", per100.round() as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_ventiles() {
        let p: Vec<f64> = (0..1000).map(|i| i as f64 / 1000.0).collect();
        let b = Bands::fit(&p);
        assert_eq!(b.cuts.len(), 19);
        assert_eq!(b.band(0.0), 1);
        assert_eq!(b.band(0.049), 1);
        assert_eq!(b.band(0.05), 2);
        assert_eq!(b.band(0.999), 20);
        assert_eq!(tier(9), "low");
        assert_eq!(tier(10), "medium");
        assert_eq!(tier(15), "high");
    }

    #[test]
    fn platt_recovers_a_known_scaling() {
        // Outcomes drawn with P = sigmoid(0.5 z - 1) for z on a grid.
        let mut z = Vec::new();
        let mut y = Vec::new();
        for i in 0..4000 {
            let zi = -4.0 + 8.0 * (i % 400) as f64 / 400.0;
            let p = 1.0 / (1.0 + (-(0.5 * zi - 1.0)).exp());
            // Deterministic "draw": the first round(p * 10) of each 10 repeats are positive.
            z.push(zi);
            y.push(((i / 400) as f64) < (p * 10.0).round());
        }
        let c = Platt::fit(&z, &y).unwrap();
        assert!((c.a - 0.5).abs() < 0.1, "{c:?}");
        assert!((c.b + 1.0).abs() < 0.15, "{c:?}");
    }

    #[test]
    fn words_never_say_certain() {
        assert_eq!(describe(0.004), "less than 1 in 100");
        assert_eq!(describe(0.034), "about 3 in 100");
        assert_eq!(describe(1.0), "more than 99 in 100 (not a certainty)");
    }
}
