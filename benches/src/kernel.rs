//! Throughput of the logistic scoring kernel alone, in rows per second per
//! core, on 1 thread and on all threads.
//!
//!     cargo run --release -p safeflag-bench --bin kernel-bench -- [ROWS]
//!
//! The matrix (39 features, like the standard spec) is built before timing;
//! each figure is the best of 5 runs.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use safeflag_core::FeatureMatrix;
use safeflag_model::Estimator;
use safeflag_model::estimator::LogisticModel;
use safeflag_score::kernel::log_odds;

const FEATURES: usize = 39;

fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    let mut state = 7u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 40) as f64 / (1u64 << 24) as f64
    };
    let data: Vec<f64> = (0..rows * FEATURES)
        .map(|_| if next() < 0.3 { next() } else { 0.0 })
        .collect();
    let x = FeatureMatrix::from_column_major(
        (0..FEATURES).map(|j| format!("f{j}")).collect(),
        rows,
        data,
    );
    let model = Estimator::Logistic(LogisticModel {
        intercept: -5.0,
        weights: (0..FEATURES).map(|j| (j as f64 - 19.0) / 10.0).collect(),
        means: vec![0.0; FEATURES],
    });
    let cores = rayon::current_num_threads();
    println!("kernel: logistic, {rows} rows x {FEATURES} features, {cores} threads available");
    println!("| threads | best of 5 (s) | rows/s | rows/s per core |");
    println!("|---|---|---|---|");
    for threads in [1, cores] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let best = (0..5)
            .map(|_| {
                let t = Instant::now();
                let z = pool.install(|| log_odds(&model, &x, true));
                std::hint::black_box(z);
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        let rate = rows as f64 / best;
        println!(
            "| {threads} | {best:.4} | {:.1} M | {:.1} M |",
            rate / 1e6,
            rate / 1e6 / threads as f64
        );
    }
}
