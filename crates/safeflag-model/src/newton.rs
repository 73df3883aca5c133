//! L2-penalised logistic regression by Newton's method.
//!
//! The shaped features overlap on purpose (an age band and the age pieces
//! that cross it), and such a problem is badly conditioned for a
//! first-order method: linfa's L-BFGS needed 100 iterations over all
//! 560,000 fitted rows (32-39 s) to reach the optimum that 15 iterations
//! had left 0.004 of ROC AUC short of (docs/decisions.md). Newton's method
//! reads the curvature directly: each step solves the penalised Hessian
//! (summed over a fixed sample of the rows, in parallel chunks; the
//! gradient over all of them), and it reaches the optimum to machine
//! precision in about ten steps whatever the conditioning. With 80
//! features the Hessian is 81 x 81, so the solve costs nothing beside the
//! pass. No crate does this for us: linfa-logistic offers only L-BFGS, and
//! a dense Cholesky of this size is a few lines.
//!
//! The objective is linfa's: the summed log-loss plus `l2 / 2` times the
//! squared weights (on standardised columns; the intercept is not
//! penalised). Chunks are reduced in a fixed order, so the fit is the same
//! bits whatever the number of threads.

use rayon::prelude::*;

use crate::{Error, Result};

/// Rows per parallel chunk of a pass.
const CHUNK: usize = 8192;
/// Converged when no (standardised) coefficient moves more than this in a
/// step: the log-loss has then stopped changing in its 12th digit.
const TOLERANCE: f64 = 1e-8;
/// Once no coefficient moves more than this, the curvature has stopped
/// changing and the last Hessian is kept: the remaining steps need only the
/// gradient.
const KEEP_HESSIAN: f64 = 1e-2;
/// Chunks the Hessian is summed over at most: on more rows it is summed
/// over evenly spaced chunks and scaled up. The gradient is always summed
/// over every row, so the fit still stops only at the exact optimum; a
/// Hessian from 16 chunks (131,072 rows) only makes the steps a little
/// less than Newton's, and each step several times cheaper.
const HESSIAN_CHUNKS: usize = 16;

/// The fit: one weight per column, and the intercept.
pub struct Fit {
    /// Weights of the (standardised) columns.
    pub weights: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
    /// Newton steps taken.
    pub steps: usize,
}

/// Fits `y ~ columns` (each column a slice of the same length; the caller
/// standardises them), minimising the summed log-loss plus
/// `l2 / 2 * |weights|^2`, in at most `max_steps` Newton steps.
pub fn fit(columns: &[&[f64]], y: &[bool], l2: f64, max_steps: usize) -> Result<Fit> {
    let d = columns.len();
    let n = y.len();
    if columns.iter().any(|c| c.len() != n) {
        return Err(Error::Train("columns and labels differ in length".into()));
    }
    let positives = y.iter().filter(|&&v| v).count() as f64;
    // Start at the intercept-only optimum.
    let mut beta = vec![0.0; d + 1];
    beta[d] = (positives / (n as f64 - positives)).ln();
    let mut loss = objective(columns, y, &beta, l2);
    let mut factor: Option<Vec<f64>> = None;
    let mut moved = f64::INFINITY;
    for step in 1..=max_steps {
        let keep = moved < KEEP_HESSIAN && factor.is_some();
        let (gradient, hessian) = derivatives(columns, y, &beta, l2, !keep);
        if !keep {
            factor = Some(damped_cholesky(hessian, d + 1).ok_or_else(|| {
                Error::Train("logistic regression: the Hessian is not finite".into())
            })?);
        }
        let delta = substitute(factor.as_deref().unwrap_or_default(), gradient, d + 1);
        // Full step, halved until the objective does not rise (it rarely must).
        let mut t = 1.0;
        let mut next: Vec<f64>;
        let mut next_loss;
        loop {
            next = beta.iter().zip(&delta).map(|(b, s)| b - t * s).collect();
            next_loss = objective(columns, y, &next, l2);
            if next_loss <= loss || t < 1e-6 {
                break;
            }
            t *= 0.5;
        }
        moved = beta
            .iter()
            .zip(&next)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        beta = next;
        loss = next_loss;
        if moved < TOLERANCE || !loss.is_finite() {
            if !loss.is_finite() {
                return Err(Error::Train(
                    "logistic regression: the log-loss is not finite".into(),
                ));
            }
            let intercept = beta[d];
            beta.truncate(d);
            return Ok(Fit {
                weights: beta,
                intercept,
                steps: step,
            });
        }
    }
    let intercept = beta[d];
    beta.truncate(d);
    Ok(Fit {
        weights: beta,
        intercept,
        steps: max_steps,
    })
}

/// The linear predictor of the rows `start..end`.
fn linear(columns: &[&[f64]], beta: &[f64], start: usize, end: usize) -> Vec<f64> {
    let d = columns.len();
    let mut z = vec![beta[d]; end - start];
    for (c, &b) in columns.iter().zip(beta) {
        if b != 0.0 {
            for (z, &x) in z.iter_mut().zip(&c[start..end]) {
                *z += b * x;
            }
        }
    }
    z
}

/// `ln(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// The penalised objective at `beta`.
fn objective(columns: &[&[f64]], y: &[bool], beta: &[f64], l2: f64) -> f64 {
    let n = y.len();
    let parts: Vec<f64> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|k| {
            let (start, end) = (k * CHUNK, ((k + 1) * CHUNK).min(n));
            linear(columns, beta, start, end)
                .iter()
                .zip(&y[start..end])
                .map(|(&z, &y)| softplus(z) - if y { z } else { 0.0 })
                .sum()
        })
        .collect();
    let d = columns.len();
    parts.iter().sum::<f64>() + 0.5 * l2 * beta[..d].iter().map(|b| b * b).sum::<f64>()
}

/// The gradient and the Hessian (upper triangle filled, row-major `(d+1)^2`,
/// the intercept last) of the penalised objective at `beta`; the Hessian
/// from at most [`HESSIAN_CHUNKS`] chunks, scaled to all the rows.
fn derivatives(
    columns: &[&[f64]],
    y: &[bool],
    beta: &[f64],
    l2: f64,
    hessian: bool,
) -> (Vec<f64>, Vec<f64>) {
    let d = columns.len();
    let m = d + 1;
    let n = y.len();
    let chunks = n.div_ceil(CHUNK);
    let stride = chunks.div_ceil(HESSIAN_CHUNKS).max(1);
    let parts: Vec<(Vec<f64>, Vec<f64>)> = (0..chunks)
        .into_par_iter()
        .map(|k| {
            let (start, end) = (k * CHUNK, ((k + 1) * CHUNK).min(n));
            let with_hessian = hessian && k % stride == 0;
            let z = linear(columns, beta, start, end);
            let mut residual = Vec::with_capacity(z.len());
            let mut weight = Vec::with_capacity(z.len());
            for (&z, &y) in z.iter().zip(&y[start..end]) {
                let p = 1.0 / (1.0 + (-z).exp());
                residual.push(p - if y { 1.0 } else { 0.0 });
                weight.push(p * (1.0 - p));
            }
            let mut g = vec![0.0; m];
            let mut h = vec![0.0; if with_hessian { m * m } else { 0 }];
            let mut wx = vec![0.0; end - start];
            for j in 0..m {
                let xj: &[f64] = if j < d { &columns[j][start..end] } else { &[] };
                g[j] = if j < d {
                    dot(&residual, xj)
                } else {
                    residual.iter().sum()
                };
                if !with_hessian {
                    continue;
                }
                if j < d {
                    for ((o, &w), &x) in wx.iter_mut().zip(&weight).zip(xj) {
                        *o = w * x;
                    }
                } else {
                    wx.copy_from_slice(&weight);
                }
                for l in j..m {
                    h[j * m + l] = if l < d {
                        dot(&wx, &columns[l][start..end])
                    } else {
                        wx.iter().sum()
                    };
                }
            }
            (g, h)
        })
        .collect();
    let mut g = vec![0.0; m];
    let mut h = vec![0.0; m * m];
    let mut hessian_rows = 0;
    for (k, (pg, ph)) in parts.into_iter().enumerate() {
        for (a, b) in g.iter_mut().zip(pg) {
            *a += b;
        }
        if !ph.is_empty() {
            hessian_rows += CHUNK.min(n - k * CHUNK);
            for (a, b) in h.iter_mut().zip(ph) {
                *a += b;
            }
        }
    }
    let scale = n as f64 / hessian_rows.max(1) as f64;
    if scale != 1.0 {
        h.iter_mut().for_each(|v| *v *= scale);
    }
    for j in 0..d {
        g[j] += l2 * beta[j];
        h[j * m + j] += l2;
    }
    if !hessian {
        h.clear();
    }
    (g, h)
}

/// `a . b`, in eight running sums (which the compiler keeps in vector
/// registers) added in a fixed order, so the result does not depend on
/// the machine.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// The Cholesky factor `L` (`H = L L^T`, row-major `m x m`, lower) of a
/// symmetric positive definite `H` given by its upper triangle; `None` when
/// it is not positive definite.
fn cholesky(h: &[f64], m: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..=i {
            let mut s = h[j * m + i];
            for k in 0..j {
                s -= l[i * m + k] * l[j * m + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * m + i] = s.sqrt();
            } else {
                l[i * m + j] = s / l[j * m + j];
            }
        }
    }
    Some(l)
}

/// The Cholesky factor of `H`, or, where `H` is singular (every
/// probability saturated, a column constant on the rows), of `H + λI` with
/// the smallest `λ` in `1e-10, 1e-8, ...` times its largest diagonal that
/// makes it positive definite: a shorter step in a descent direction
/// (Levenberg's damping). `None` only when `H` is not finite.
fn damped_cholesky(mut h: Vec<f64>, m: usize) -> Option<Vec<f64>> {
    if let Some(l) = cholesky(&h, m) {
        return Some(l);
    }
    let scale = (0..m).map(|i| h[i * m + i].abs()).fold(1e-300, f64::max);
    if !scale.is_finite() || h.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut added = 0.0;
    let mut lambda = 1e-10 * scale;
    while lambda.is_finite() {
        for i in 0..m {
            h[i * m + i] += lambda - added;
        }
        added = lambda;
        if let Some(l) = cholesky(&h, m) {
            return Some(l);
        }
        lambda *= 100.0;
    }
    None
}

/// Solves `L L^T x = g`: `L u = g`, then `L^T x = u`.
fn substitute(l: &[f64], g: Vec<f64>, m: usize) -> Vec<f64> {
    let mut u = g;
    for i in 0..m {
        for k in 0..i {
            u[i] -= l[i * m + k] * u[k];
        }
        u[i] /= l[i * m + i];
    }
    for i in (0..m).rev() {
        for k in i + 1..m {
            u[i] -= l[k * m + i] * u[k];
        }
        u[i] /= l[i * m + i];
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_known_system() {
        // H = [[4, 2], [2, 3]], g = [2, 1]: x = [0.5, 0].
        let l = cholesky(&[4.0, 2.0, 0.0, 3.0], 2).unwrap();
        let x = substitute(&l, vec![2.0, 1.0], 2);
        assert!((x[0] - 0.5).abs() < 1e-15 && x[1].abs() < 1e-15, "{x:?}");
        assert!(cholesky(&[1.0, 2.0, 0.0, 1.0], 2).is_none());
        // A singular Hessian is damped, not refused.
        assert!(cholesky(&[1.0, 1.0, 0.0, 1.0], 2).is_none());
        let l = damped_cholesky(vec![1.0, 1.0, 0.0, 1.0], 2).unwrap();
        assert!(
            substitute(&l, vec![1.0, 1.0], 2)
                .iter()
                .all(|v| v.is_finite())
        );
    }

    #[test]
    fn the_fit_is_the_optimum_and_the_same_whatever_the_threads() {
        // Two columns, outcomes drawn from logit = -1 + 2 a - 1 b.
        let (x, y) = crate::estimator::tests::synthetic(20_000);
        let n = y.len();
        let columns = [&x.column_major()[..n], &x.column_major()[n..]];
        let fit = fit(&columns, &y, 1.0, 100).unwrap();
        assert!(fit.steps < 15, "{}", fit.steps);
        // The optimum: the penalised gradient is zero there.
        let mut beta = fit.weights.clone();
        beta.push(fit.intercept);
        let (g, _) = derivatives(&columns, &y, &beta, 1.0, false);
        assert!(g.iter().all(|v| v.abs() < 1e-6), "{g:?}");
        // Close to the truth.
        assert!((fit.weights[0] - 2.0).abs() < 0.2, "{:?}", fit.weights);
        assert!((fit.weights[1] + 1.0).abs() < 0.2, "{:?}", fit.weights);
        assert!((fit.intercept + 1.0).abs() < 0.2, "{}", fit.intercept);
        // The same bits on one thread.
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| super::fit(&columns, &y, 1.0, 100).unwrap());
        assert_eq!(one.weights, fit.weights);
        assert_eq!(one.intercept.to_bits(), fit.intercept.to_bits());
    }
}
