//! Calibration and bands: turning log-odds into words a reviewer can trust.
//!
//! Probabilities are Platt-scaled on cases the model was not trained on, so a
//! "3%" means about 3 in 100. Bands follow the Allegheny tool: ventiles 1-20
//! of the calibrated probability over the calibration population, with named
//! tiers (low 1-9, medium 10-14, high 15-20). A probability is never shown as
//! a certainty: it is capped below 1 in presentation, see [`describe`].

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
    /// Fits the two parameters on held-out log-odds and outcomes (no penalty).
    pub fn fit(log_odds: &[f64], y: &[bool]) -> Result<Platt> {
        let fit = crate::newton::fit(&[log_odds], y, 0.0, 100)
            .map_err(|e| Error::Train(format!("calibration: {e}")))?;
        Ok(Platt {
            a: fit.weights[0],
            b: fit.intercept,
        })
    }

    /// Fits the shift alone (`a = 1`): the held-out rows correct the level
    /// of a model whose slope is already right. A logistic regression's
    /// slope on new rows is 1 up to sampling noise, and a slope fitted on
    /// the few thousand incidents of the held-out cases carries that noise
    /// into the tails: 0.97 instead of 1 over-stated the lowest-risk tenth
    /// by 13% (docs/model-quality.md).
    pub fn fit_shift(log_odds: &[f64], y: &[bool]) -> Result<Platt> {
        let positives = y.iter().filter(|&&v| v).count();
        if positives == 0 || positives == y.len() {
            return Err(Error::Train(
                "calibration: the held-out rows need both outcomes".into(),
            ));
        }
        // Newton on the one parameter: sum(sigmoid(z + b)) = positives.
        let mut b = 0.0;
        for _ in 0..100 {
            let (mut g, mut h) = (0.0, 0.0);
            for (&z, &t) in log_odds.iter().zip(y) {
                let p = 1.0 / (1.0 + (-(z + b)).exp());
                g += p - if t { 1.0 } else { 0.0 };
                h += p * (1.0 - p);
            }
            // A step of at most one unit of log-odds: Newton's step is
            // huge where every probability is near 0 or 1.
            let step = if h > 0.0 {
                (g / h).clamp(-1.0, 1.0)
            } else {
                g.signum()
            };
            b -= step;
            if step.abs() < 1e-12 || !b.is_finite() {
                break;
            }
        }
        if !b.is_finite() {
            return Err(Error::Train(
                "calibration: the shift did not converge".into(),
            ));
        }
        Ok(Platt { a: 1.0, b })
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
