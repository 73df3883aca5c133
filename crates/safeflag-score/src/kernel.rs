//! The scoring kernel: log-odds for every row, in parallel over row chunks.
//!
//! Each row's log-odds is summed over features in the same order whatever
//! the chunking, so the parallel result is bit-identical to the sequential one
//! (tested), and the same snapshot always gives the same scores. The matrix is
//! shared read-only across threads: memory is the matrix plus one output
//! vector, not a copy per thread.

use rayon::prelude::*;
use safeflag_core::FeatureMatrix;
use safeflag_model::Estimator;

/// Rows per parallel chunk: large enough to amortise scheduling, small enough
/// that a chunk of each feature column stays in cache.
pub const CHUNK_ROWS: usize = 16_384;

/// Log-odds of every row. `parallel = false` is the sequential reference.
pub fn log_odds(estimator: &Estimator, x: &FeatureMatrix, parallel: bool) -> Vec<f64> {
    match estimator {
        Estimator::Logistic(m) => {
            let mut out = vec![m.intercept; x.rows()];
            let columns: Vec<&[f64]> = (0..x.cols())
                .map(|j| &x.column_major()[j * x.rows()..(j + 1) * x.rows()])
                .collect();
            let kernel = |(c, chunk): (usize, &mut [f64])| {
                let start = c * CHUNK_ROWS;
                for (w, col) in m.weights.iter().zip(&columns) {
                    let col = &col[start..start + chunk.len()];
                    for (z, v) in chunk.iter_mut().zip(col) {
                        *z += w * v;
                    }
                }
            };
            if parallel {
                out.par_chunks_mut(CHUNK_ROWS).enumerate().for_each(kernel);
            } else {
                out.chunks_mut(CHUNK_ROWS).enumerate().for_each(kernel);
            }
            out
        }
        Estimator::Gbm(_) => estimator.log_odds(x),
    }
}

#[cfg(test)]
mod tests {
    use safeflag_model::estimator::LogisticModel;

    use super::*;

    fn matrix(rows: usize) -> FeatureMatrix {
        let cols = (0..5)
            .map(|j| {
                (0..rows)
                    .map(|i| ((i * 7 + j * 13) % 17) as f64 / 3.0)
                    .collect()
            })
            .collect();
        FeatureMatrix::from_columns((0..5).map(|j| format!("f{j}")).collect(), cols)
    }

    fn model() -> Estimator {
        Estimator::Logistic(LogisticModel {
            intercept: -4.2,
            weights: vec![0.1, -0.7, 1.3, 0.0, 0.33],
            means: vec![0.0; 5],
        })
    }

    #[test]
    fn parallel_equals_sequential_exactly() {
        let x = matrix(3 * CHUNK_ROWS + 123);
        let par = log_odds(&model(), &x, true);
        let seq = log_odds(&model(), &x, false);
        assert_eq!(par.len(), x.rows());
        assert!(
            par.iter()
                .zip(&seq)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }

    #[test]
    fn kernel_matches_the_model_definition() {
        let x = matrix(1000);
        let ours = log_odds(&model(), &x, true);
        let reference = model().log_odds(&x);
        for (a, b) in ours.iter().zip(&reference) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}
