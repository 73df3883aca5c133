//! Scoring a nightly snapshot and building the coaching queue.
//!
//! # Brief overview
//! * [`kernel::log_odds`]: the parallel scoring kernel (rayon over row chunks).
//! * [`score`]: validated cases + a verified model -> every row's calibrated
//!   probability, band and tier, and the ranked case-level [`queue`] with
//!   reasons in plain words and a coaching prompt.
//! * [`QueuePolicy`]: top N, top share, threshold, per-office capacity.
#![deny(missing_docs)]

pub mod kernel;
pub mod queue;
pub mod reasons;

use std::collections::HashMap;
use std::path::PathBuf;

use polars::prelude::*;
use safeflag_features::build_matrix;
use safeflag_model::ModelArtifact;
use safeflag_model::calibration::{describe, tier};

pub use queue::{QueuePolicy, rank_rows, select_cases};
pub use reasons::{Prompts, top_reasons};

/// Errors of scoring.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The queue policy is invalid.
    #[error("queue policy: {0}")]
    Policy(String),
    /// The prompts file is invalid.
    #[error("prompts `{path}`: {message}")]
    Prompts {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The features could not be computed.
    #[error(transparent)]
    Features(#[from] safeflag_features::Error),
    /// An unexpected failure inside the dataframe engine.
    #[error("internal error in the dataframe engine: {0}")]
    Polars(#[from] PolarsError),
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What one scoring run produced.
#[derive(Debug)]
pub struct Scored {
    /// Every valid row: `source_row, case_id, child_id, snapshot_date, office,
    /// supervisor_id, worker_id, probability, band, tier`, in input order.
    pub scores: DataFrame,
    /// The queue: `rank, case_id, child_id, office, supervisor_id, worker_id,
    /// probability, likelihood, band, tier, reasons, prompt, other_children`.
    pub queue: DataFrame,
    /// Cases scored.
    pub cases: usize,
    /// Seconds spent: features, scoring, queue.
    pub seconds: [(&'static str, f64); 3],
}

/// Scores validated cases with a verified model and builds the queue.
pub fn score(
    model: &ModelArtifact,
    cases: &DataFrame,
    policy: &QueuePolicy,
    prompts: &Prompts,
) -> Result<Scored> {
    let c = &model.content;
    let t0 = std::time::Instant::now();
    let x = build_matrix(cases, &c.feature_spec)?;
    let t_features = t0.elapsed().as_secs_f64();

    let t1 = std::time::Instant::now();
    let z = kernel::log_odds(&c.estimator, &x, true);
    let p: Vec<f64> = z.iter().map(|&z| c.calibration.probability(z)).collect();
    let bands: Vec<u32> = p.iter().map(|&p| u32::from(c.bands.band(p))).collect();
    let tiers: Vec<&str> = bands.iter().map(|&b| tier(b as u8)).collect();
    let mut scores = cases.select([
        "source_row",
        "case_id",
        "child_id",
        "snapshot_date",
        "office",
        "supervisor_id",
        "worker_id",
    ])?;
    scores.with_column(Column::new("probability".into(), &p))?;
    scores.with_column(Column::new("band".into(), bands))?;
    scores.with_column(Column::new("tier".into(), tiers))?;
    let t_score = t1.elapsed().as_secs_f64();

    let t2 = std::time::Instant::now();
    let mut indexed = scores.clone();
    indexed.with_column(Column::new(
        "__row".into(),
        (0..scores.height() as u64).collect::<Vec<u64>>(),
    ))?;
    let ranked = rank_rows(&indexed)?;
    let (leads, n_cases) = select_cases(&ranked, policy)?;
    let queue = build_queue(model, &x, &ranked, &leads, prompts)?;
    let t_queue = t2.elapsed().as_secs_f64();
    Ok(Scored {
        scores,
        queue,
        cases: n_cases,
        seconds: [
            ("features", t_features),
            ("score", t_score),
            ("queue", t_queue),
        ],
    })
}

fn build_queue(
    model: &ModelArtifact,
    x: &safeflag_core::FeatureMatrix,
    ranked: &DataFrame,
    leads: &[usize],
    prompts: &Prompts,
) -> Result<DataFrame> {
    let c = &model.content;
    let s = |name: &str| -> Result<StringChunked> { Ok(ranked.column(name)?.str()?.clone()) };
    let (case_id, child_id, office, sup, worker, tiers) = (
        s("case_id")?,
        s("child_id")?,
        s("office")?,
        s("supervisor_id")?,
        s("worker_id")?,
        s("tier")?,
    );
    let prob = ranked.column("probability")?.f64()?.clone();
    let band = ranked.column("band")?.u32()?.clone();
    let row = ranked.column("__row")?.u64()?.clone();

    // Reasons for the lead children only: contributions on a handful of rows.
    let lead_rows: Vec<usize> = leads
        .iter()
        .map(|&i| row.get(i).unwrap_or(0) as usize)
        .collect();
    let (_, contrib) = c.estimator.contributions(&x.take_rows(&lead_rows));
    let features = &c.feature_spec.features;

    // Other children of the queued cases, in rank order.
    let queued: HashMap<&str, usize> = leads
        .iter()
        .enumerate()
        .map(|(q, &i)| (case_id.get(i).unwrap_or_default(), q))
        .collect();
    let mut others: Vec<Vec<String>> = vec![Vec::new(); leads.len()];
    let lead_set: std::collections::HashSet<usize> = leads.iter().copied().collect();
    for i in 0..ranked.height() {
        if let Some(&q) = queued.get(case_id.get(i).unwrap_or_default())
            && !lead_set.contains(&i)
        {
            others[q].push(format!(
                "{} ({:.1}%)",
                child_id.get(i).unwrap_or_default(),
                prob.get(i).unwrap_or(0.0) * 100.0
            ));
        }
    }

    let mut reasons_col = Vec::with_capacity(leads.len());
    let mut prompt_col = Vec::with_capacity(leads.len());
    for (q, _) in leads.iter().enumerate() {
        let row: Vec<f64> = contrib.row(q).to_vec();
        let top = top_reasons(&row);
        reasons_col.push(
            top.iter()
                .map(|&j| features[j].label.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        );
        let names: Vec<&str> = top.iter().map(|&j| features[j].name.as_str()).collect();
        prompt_col.push(prompts.for_reasons(&names));
    }
    let pick = |ca: &StringChunked| -> Vec<String> {
        leads
            .iter()
            .map(|&i| ca.get(i).unwrap_or_default().to_string())
            .collect()
    };
    let probs: Vec<f64> = leads.iter().map(|&i| prob.get(i).unwrap_or(0.0)).collect();
    let df = DataFrame::new_infer_height(vec![
        Column::new(
            "rank".into(),
            (1..=leads.len() as u32).collect::<Vec<u32>>(),
        ),
        Column::new("case_id".into(), pick(&case_id)),
        Column::new("child_id".into(), pick(&child_id)),
        Column::new("office".into(), pick(&office)),
        Column::new("supervisor_id".into(), pick(&sup)),
        Column::new("worker_id".into(), pick(&worker)),
        Column::new("probability".into(), probs.clone()),
        Column::new(
            "likelihood".into(),
            probs.iter().map(|&p| describe(p)).collect::<Vec<_>>(),
        ),
        Column::new(
            "band".into(),
            leads
                .iter()
                .map(|&i| band.get(i).unwrap_or(0))
                .collect::<Vec<u32>>(),
        ),
        Column::new("tier".into(), pick(&tiers)),
        Column::new("reasons".into(), reasons_col),
        Column::new("prompt".into(), prompt_col),
        Column::new(
            "other_children".into(),
            others.into_iter().map(|o| o.join("; ")).collect::<Vec<_>>(),
        ),
    ])?;
    Ok(df)
}
