//! Scoring a nightly snapshot and building the coaching queue.
//!
//! # Brief overview
//! * [`kernel::log_odds`]: the parallel scoring kernel (rayon over row chunks).
//! * [`score_rows`]: validated cases + a verified model -> every row's
//!   calibrated probability, band and tier.
//! * [`queue()`]: the ranked case-level queue with reasons in plain words and
//!   a coaching prompt, passing over cases suppressed after a recent review.
//! * [`monitor()`]: fairness of the queue and drift of the data, every run.
//! * [`QueuePolicy`]: top N, top share, threshold, per-office capacity.
#![deny(missing_docs)]

pub mod kernel;
pub mod monitor;
pub mod queue;
pub mod reasons;

use std::collections::HashSet;
use std::path::PathBuf;

use polars::prelude::*;
use rayon::prelude::*;
use safeflag_features::{build_matrix, input_values};
use safeflag_model::ModelArtifact;
use safeflag_model::calibration::{describe, tier};

pub use monitor::{MonitorOptions, Monitoring, monitor};
pub use queue::{DueReviews, QueuePolicy, Selection, rank_rows, select_cases};
pub use reasons::{Factors, Prompts, top_reasons};

/// Errors of scoring.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The queue policy is invalid.
    #[error("queue policy: {0}")]
    Policy(String),
    /// The fairness and drift thresholds are invalid.
    #[error("monitor settings: {0}")]
    Monitor(String),
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

impl safeflag_core::Kinded for Error {
    fn kind(&self) -> safeflag_core::ErrorKind {
        match self {
            Error::Policy(_) | Error::Monitor(_) | Error::Prompts { .. } => {
                safeflag_core::ErrorKind::Input
            }
            Error::Features(e) => safeflag_core::Kinded::kind(e),
            Error::Polars(_) => safeflag_core::ErrorKind::Internal,
        }
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Every valid row scored: the first half of a run.
#[derive(Debug)]
pub struct RowScores {
    /// Every valid row: `source_row, case_id, child_id, snapshot_date, office,
    /// supervisor_id, worker_id, probability, band, tier, child_race_ethnicity,
    /// age_band` (and the outcome, for labelled snapshots), in input order.
    pub scores: DataFrame,
    /// Calibrated probability of each row (the `probability` column).
    pub probabilities: Vec<f64>,
    /// Tonight's feature values binned like the training distributions, for drift.
    pub bins: monitor::FeatureBins,
    /// Cases scored.
    pub cases: usize,
    /// Seconds spent: features, scoring.
    pub seconds: [(&'static str, f64); 2],
}

/// Rows whose features are computed and scored at a time. The feature matrix
/// of a whole 5M-row night is 1.5 GB in f64; in batches it is never more than
/// one batch (about 40 MB), and each batch is still scored in parallel. At
/// 1M rows a batch (330 MB with its intermediates) set the night's memory
/// high-water mark; this and two smaller cuts took a 5M-row night's peak
/// from 2140 to 1915 MiB, at no cost in time (docs/performance.md, issue 18).
pub const BATCH_ROWS: usize = 1 << 17;

/// Computes the model's features on validated cases and scores every row,
/// [`BATCH_ROWS`] rows at a time.
pub fn score_rows(model: &ModelArtifact, cases: &DataFrame) -> Result<RowScores> {
    score_rows_in_batches(model, cases, BATCH_ROWS, &|_, _| {})
}

/// [`score_rows`], telling `scored(rows done, rows in all)` after each batch
/// (for a progress bar).
pub fn score_rows_reporting(
    model: &ModelArtifact,
    cases: &DataFrame,
    scored: &dyn Fn(usize, usize),
) -> Result<RowScores> {
    score_rows_in_batches(model, cases, BATCH_ROWS, scored)
}

fn score_rows_in_batches(
    model: &ModelArtifact,
    cases: &DataFrame,
    batch: usize,
    scored: &dyn Fn(usize, usize),
) -> Result<RowScores> {
    let c = &model.content;
    let (mut t_features, mut t_score) = (0.0, 0.0);
    let mut z = Vec::with_capacity(cases.height());
    let mut bins = monitor::FeatureBins::new(&c.distributions);
    let mut offset = 0;
    // At least one batch, so an empty snapshot still checks the feature spec.
    loop {
        let len = batch.min(cases.height() - offset);
        let t0 = std::time::Instant::now();
        let x = build_matrix(&cases.slice(offset as i64, len), &c.feature_spec)?;
        t_features += t0.elapsed().as_secs_f64();
        let t1 = std::time::Instant::now();
        z.extend(kernel::log_odds(&c.estimator, &x, true));
        bins.add(&x);
        t_score += t1.elapsed().as_secs_f64();
        offset += len;
        scored(offset, cases.height());
        if offset >= cases.height() {
            break;
        }
    }

    let t1 = std::time::Instant::now();
    // Row by row and independent, so in parallel: each value is the same
    // whatever the thread count.
    let p: Vec<f64> = z
        .par_iter()
        .map(|&z| c.calibration.probability(z))
        .collect();
    drop(z);
    let bands: Vec<u32> = p.par_iter().map(|&p| u32::from(c.bands.band(p))).collect();
    let tiers = tier_column(&bands)?;
    let mut scores = cases.select([
        "source_row",
        "case_id",
        "child_id",
        "snapshot_date",
        "office",
        "supervisor_id",
        "worker_id",
    ])?;
    let (n_cases, age_bands) = rayon::join(
        || Ok::<_, Error>(distinct(scores.column("case_id")?.str()?)),
        || -> Result<StringChunked> {
            Ok(safeflag_features::age_band_names(cases)?
                .into_iter()
                .collect())
        },
    );
    let (n_cases, age_bands) = (n_cases?, age_bands?);
    scores.with_column(Column::new("probability".into(), &p))?;
    scores.with_column(Column::new("band".into(), bands))?;
    scores.with_column(tiers.into_column())?;
    // What the look back at outcomes reads by group: the child's group and
    // age band that night (never model inputs).
    let race = safeflag_core::contract::RACE_ETHNICITY;
    scores.with_column(match cases.column(race) {
        Ok(c) => c.clone(),
        Err(_) => Column::full_null(race.into(), cases.height(), &DataType::String),
    })?;
    scores.with_column(age_bands.with_name("age_band".into()).into_column())?;
    // Labelled snapshots keep their outcome, so reports can draw calibration.
    if let Ok(y) = cases.column(safeflag_core::contract::OUTCOME) {
        scores.with_column(y.clone())?;
    }
    t_score += t1.elapsed().as_secs_f64();
    Ok(RowScores {
        scores,
        probabilities: p,
        bins,
        cases: n_cases,
        seconds: [("features", t_features), ("score", t_score)],
    })
}

/// Each row's tier name, built in parallel pieces (one chunk each; the
/// score-file writer cuts its own row groups, so the chunks never show).
fn tier_column(bands: &[u32]) -> Result<StringChunked> {
    let pieces: Vec<StringChunked> = bands
        .par_chunks(1 << 18)
        .map(|b| StringChunked::from_iter_values("".into(), b.iter().map(|&b| tier(b as u8))))
        .collect();
    let mut tiers = StringChunked::from_iter_values("tier".into(), std::iter::empty::<&str>());
    for piece in &pieces {
        tiers.append(piece)?;
    }
    Ok(tiers)
}

/// The number of distinct non-null values, exactly, by sorting hashes
/// ([`safeflag_core::keys::distinct`]). Polars' `n_unique` took 0.54 s on 5M
/// case ids.
fn distinct(ca: &StringChunked) -> usize {
    let values: Vec<Option<&str>> = ca.iter().collect();
    safeflag_core::keys::distinct(&values)
}

/// The queue built from scored rows: the second half of a run.
#[derive(Debug)]
pub struct Queue {
    /// `rank, case_id, child_id, office, supervisor_id, worker_id,
    /// probability, likelihood, band, tier, reasons, prompt, other_children,
    /// case_type, youngest_age_days` (the last two: what the review
    /// instrument's items apply by).
    pub queue: DataFrame,
    /// Suppressed cases the queue passed over, in rank order:
    /// `case_id, child_id, office, probability, band`.
    pub suppressed: DataFrame,
    /// Every row (index into the scored rows) whose case is queued, lead
    /// children included, in row order: the flagged children of the fairness
    /// audit.
    pub case_rows: Vec<usize>,
    /// Seconds spent ranking and explaining.
    pub seconds: f64,
}

/// Ranks the cases, applies the policy (passing over `suppressed` cases
/// without using their capacity) and explains each queued case.
pub fn queue(
    model: &ModelArtifact,
    cases: &DataFrame,
    rows: &RowScores,
    policy: &QueuePolicy,
    prompts: &Prompts,
    suppressed: &HashSet<String>,
    due: &DueReviews,
) -> Result<Queue> {
    let t = std::time::Instant::now();
    let (ranked, selection) = select_from_top(
        &rows.scores,
        &rows.probabilities,
        policy,
        rows.cases,
        suppressed,
        due,
    )?;
    let (queue, case_rows) = build_queue(
        model,
        cases,
        &rows.scores,
        &ranked,
        &selection.leads,
        prompts,
    )?;
    let idx = IdxCa::from_vec(
        "idx".into(),
        selection.suppressed.iter().map(|&i| i as IdxSize).collect(),
    );
    let suppressed = ranked
        .select(["case_id", "child_id", "office", "probability", "band"])?
        .take(&idx)?;
    Ok(Queue {
        queue,
        suppressed,
        case_rows,
        seconds: t.elapsed().as_secs_f64(),
    })
}

/// Ranks only the highest rows, widening until the policy is decided.
///
/// The queue is short, so sorting every row by three keys is waste. The
/// candidates are all rows whose probability is at least the m-th highest
/// (ties at the boundary included), which is closed under "ranks higher": a
/// case's best child among them is its best child overall. If the policy walk
/// runs off the end of the candidates without a limit stopping it, m doubles;
/// at worst every row is ranked, as before.
fn select_from_top(
    scores: &DataFrame,
    p: &[f64],
    policy: &QueuePolicy,
    n_cases: usize,
    suppressed: &HashSet<String>,
    due: &DueReviews,
) -> Result<(DataFrame, Selection)> {
    // Every row of a case due for re-review is a candidate, whatever its
    // probability: its lead must be among the ranked rows.
    let due_rows: Vec<IdxSize> = if due.cases.is_empty() {
        Vec::new()
    } else {
        let case = scores.column("case_id")?.str()?;
        (0..p.len())
            .filter(|&i| case.get(i).is_some_and(|c| due.cases.contains(c)))
            .map(|i| i as IdxSize)
            .collect()
    };
    let limit = policy.top_n.unwrap_or(usize::MAX).min(
        policy
            .top_fraction
            .map_or(usize::MAX, |f| (n_cases as f64 * f).ceil() as usize),
    );
    let mut m = limit
        .saturating_mul(4)
        .saturating_add(256)
        .saturating_add(suppressed.len())
        .min(p.len());
    loop {
        let candidates: Vec<IdxSize> = if m >= p.len() {
            (0..p.len() as IdxSize).collect()
        } else {
            let mut sorted = p.to_vec();
            let (_, cut, _) = sorted.select_nth_unstable_by(m - 1, |a, b| b.total_cmp(a));
            let cut = *cut;
            let mut c: Vec<IdxSize> = (0..p.len())
                .filter(|&i| p[i] >= cut)
                .map(|i| i as IdxSize)
                .collect();
            c.extend(&due_rows);
            c.sort_unstable();
            c.dedup();
            c
        };
        let all = candidates.len() == p.len();
        let mut top = scores.take(&IdxCa::from_vec("idx".into(), candidates.clone()))?;
        top.with_column(Column::new("__row".into(), candidates))?;
        let ranked = rank_rows(&top)?;
        let selection = select_cases(&ranked, policy, n_cases, suppressed, due)?;
        if !selection.exhausted || all {
            return Ok((ranked, selection));
        }
        m = m.saturating_mul(2).min(p.len());
    }
}

fn build_queue(
    model: &ModelArtifact,
    cases: &DataFrame,
    scores: &DataFrame,
    ranked: &DataFrame,
    leads: &[usize],
    prompts: &Prompts,
) -> Result<(DataFrame, Vec<usize>)> {
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
    let row = ranked.column("__row")?.idx()?.clone();

    // Reasons for the lead children only: their features are computed again
    // (the batches are gone), then contributions on a handful of rows.
    let lead_rows: Vec<usize> = leads
        .iter()
        .map(|&i| row.get(i).unwrap_or(0) as usize)
        .collect();
    let lead_cases = cases.take(&IdxCa::from_vec(
        "idx".into(),
        lead_rows.iter().map(|&i| i as IdxSize).collect(),
    ))?;
    let (_, contrib) = c
        .estimator
        .contributions(&build_matrix(&lead_cases, &c.feature_spec)?);

    // Every row of the queued cases, found by one parallel pass over the
    // case ids; the other children are those rows but the leads.
    let queued: PlHashMap<&str, usize> = leads
        .iter()
        .enumerate()
        .map(|(q, &i)| (case_id.get(i).unwrap_or_default(), q))
        .collect();
    let all_case: Vec<Option<&str>> = scores.column("case_id")?.str()?.iter().collect();
    let case_rows: Vec<(usize, usize)> = {
        use rayon::prelude::*;
        all_case
            .par_iter()
            .enumerate()
            .filter_map(|(i, c)| queued.get((*c)?).map(|&q| (i, q)))
            .collect()
    };
    let lead_rows_set: HashSet<usize> = lead_rows.iter().copied().collect();
    let all_child = scores.column("child_id")?.str()?;
    let all_prob = scores.column("probability")?.f64()?;
    let mut others: Vec<Vec<(f64, String)>> = vec![Vec::new(); leads.len()];
    for &(i, q) in case_rows.iter().filter(|(i, _)| !lead_rows_set.contains(i)) {
        others[q].push((
            all_prob.get(i).unwrap_or(0.0),
            all_child.get(i).unwrap_or_default().to_string(),
        ));
    }
    // The facts the review instrument's items apply by: the case's type, and
    // its youngest child's age on the snapshot date.
    let days = |name: &str| -> Result<Int32Chunked> {
        Ok(cases
            .column(name)?
            .cast(&DataType::Date)?
            .date()?
            .physical()
            .clone())
    };
    let (born, on) = (days("child_birth_date")?, days("snapshot_date")?);
    let mut youngest: Vec<Option<i64>> = vec![None; leads.len()];
    for &(i, q) in &case_rows {
        if let (Some(b), Some(d)) = (born.get(i), on.get(i)) {
            let age = i64::from(d) - i64::from(b);
            youngest[q] = Some(youngest[q].map_or(age, |y| y.min(age)));
        }
    }
    let lead_type = lead_cases.column("case_type")?.str()?.clone();
    let case_rows: Vec<usize> = case_rows.into_iter().map(|(i, _)| i).collect();
    let others: Vec<String> = others
        .into_iter()
        .map(|mut o| {
            o.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            o.iter()
                .map(|(p, c)| format!("{c} ({:.1}%)", p * 100.0))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .collect();

    let mut reasons_col = Vec::with_capacity(leads.len());
    let mut prompt_col = Vec::with_capacity(leads.len());
    let spec = &c.feature_spec;
    let factors = reasons::Factors::of(spec);
    // The leads' values of each shape's input, for words like "age: 2 months".
    let values: Vec<Option<Vec<Option<f64>>>> = factors
        .list
        .iter()
        .map(|f| {
            f.input
                .as_ref()
                .map(|input| input_values(&lead_cases, input))
                .transpose()
        })
        .collect::<std::result::Result<_, _>>()?;
    for (q, _) in leads.iter().enumerate() {
        let row: Vec<f64> = contrib.row(q).to_vec();
        let top = factors.reasons(&row);
        reasons_col.push(
            top.iter()
                .map(|&k| {
                    let value = values[k].as_ref().and_then(|v| v[q]);
                    factors.list[k].words(value)
                })
                .collect::<Vec<_>>()
                .join("; "),
        );
        let names: Vec<Vec<&str>> = top.iter().map(|&k| factors.prompt_names(spec, k)).collect();
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
        Column::new("other_children".into(), others),
        Column::new(
            "case_type".into(),
            lead_type
                .iter()
                .map(|t| t.unwrap_or_default())
                .collect::<Vec<&str>>(),
        ),
        Column::new("youngest_age_days".into(), youngest),
    ])?;
    Ok((df, case_rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 20,000 rows in ~8,000 cases, probabilities rounded to 3 decimals so
    /// that many tie, offices of unequal size.
    fn scores() -> (DataFrame, Vec<f64>) {
        let mut state = 99u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let n = 20_000;
        let mut case = Vec::new();
        let mut child = Vec::new();
        let mut office = Vec::new();
        let mut p = Vec::new();
        for i in 0..n {
            let c = (next() * 8000.0) as usize;
            case.push(format!("C{c:05}"));
            child.push(format!("K{i:06}"));
            office.push(["A", "B", "C", "D"][(c * 7 % 10).min(3)].to_string());
            p.push((next().powi(6) * 1000.0).round() / 1000.0);
        }
        let df = df!("case_id" => case, "child_id" => child, "office" => office, "probability" => p.clone()).unwrap();
        (df, p)
    }

    #[test]
    fn distinct_counts_exactly() {
        let (df, _) = scores();
        let ca = df.column("case_id").unwrap().str().unwrap();
        assert_eq!(
            distinct(ca),
            df.column("case_id").unwrap().n_unique().unwrap()
        );
        let with_nulls =
            StringChunked::new("c".into(), &[Some("a"), None, Some("b"), Some("a"), None]);
        assert_eq!(distinct(&with_nulls), 2);
    }

    /// The shipped sample snapshot, validated.
    pub(crate) fn sample_cases() -> DataFrame {
        safeflag_ingest::ingest(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../data-samples/snapshot.csv"),
            &safeflag_ingest::IngestOptions::default(),
        )
        .unwrap()
        .cases
    }

    #[test]
    fn batches_give_the_same_scores_and_drift_counts_as_one_pass() {
        let cases = sample_cases();
        let model = ModelArtifact::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/default"),
        )
        .unwrap();
        let one = score_rows_in_batches(&model, &cases, usize::MAX, &|_, _| {}).unwrap();
        // The batches report the rows scored so far, up to all of them.
        let seen = std::sync::Mutex::new(Vec::new());
        let many = score_rows_in_batches(&model, &cases, 777, &|done, of| {
            seen.lock().unwrap().push((done, of));
        })
        .unwrap();
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 10_000usize.div_ceil(777));
        assert_eq!(seen.last(), Some(&(10_000, 10_000)));
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(one.probabilities.len(), 10_000);
        assert_eq!(one.probabilities, many.probabilities);
        assert_eq!(one.bins.counts, many.bins.counts);
        assert_eq!(one.bins.rows, many.bins.rows);
        assert!(one.scores.equals_missing(&many.scores));
        // The counts are the training bins' counts of the whole matrix.
        let x = build_matrix(&cases, &model.content.feature_spec).unwrap();
        for (d, counts) in model.content.distributions.iter().zip(&one.bins.counts) {
            let j = x.names().iter().position(|n| n == &d.name).unwrap();
            let col = x.column(j);
            let shares = safeflag_model::distribution::shares(&d.edges, col.as_slice().unwrap());
            let got: Vec<f64> = counts.iter().map(|&k| k as f64 / 10_000.0).collect();
            assert_eq!(got, shares, "{}", d.name);
        }
    }

    fn full(df: &DataFrame, policy: &QueuePolicy, n_cases: usize, due: &DueReviews) -> Vec<String> {
        let mut indexed = df.clone();
        indexed
            .with_column(Column::new(
                "__row".into(),
                (0..df.height() as IdxSize).collect::<Vec<_>>(),
            ))
            .unwrap();
        let ranked = rank_rows(&indexed).unwrap();
        let sel = select_cases(&ranked, policy, n_cases, &HashSet::new(), due).unwrap();
        let c = ranked.column("child_id").unwrap().str().unwrap();
        sel.leads
            .iter()
            .map(|&i| c.get(i).unwrap().to_string())
            .collect()
    }

    #[test]
    fn partial_selection_equals_a_full_sort() {
        let (df, p) = scores();
        let n_cases = df.column("case_id").unwrap().n_unique().unwrap();
        let mut caps = std::collections::BTreeMap::new();
        caps.insert("A".to_string(), 3);
        let policies = [
            QueuePolicy {
                top_n: Some(10),
                ..QueuePolicy::default()
            },
            QueuePolicy {
                top_n: Some(500),
                office_capacity: Some(40),
                ..QueuePolicy::default()
            },
            QueuePolicy {
                office_capacity: Some(25),
                office_capacities: caps,
                ..QueuePolicy::default()
            },
            QueuePolicy {
                threshold: Some(0.5),
                ..QueuePolicy::default()
            },
            QueuePolicy {
                top_fraction: Some(0.01),
                ..QueuePolicy::default()
            },
        ];
        // Re-reviews due for the cases of the 30 lowest rows: far below any
        // cut, so the partial ranking must fetch them.
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
        let ids = df.column("case_id").unwrap().str().unwrap();
        let low: HashSet<String> = order[..30]
            .iter()
            .map(|&i| ids.get(i).unwrap().to_string())
            .collect();
        let dues = [
            DueReviews::default(),
            DueReviews {
                cases: low.clone(),
                use_capacity: false,
            },
            DueReviews {
                cases: low,
                use_capacity: true,
            },
        ];
        for policy in policies {
            for due in &dues {
                let (ranked, sel) =
                    select_from_top(&df, &p, &policy, n_cases, &HashSet::new(), due).unwrap();
                let c = ranked.column("child_id").unwrap().str().unwrap();
                let got: Vec<String> = sel
                    .leads
                    .iter()
                    .map(|&i| c.get(i).unwrap().to_string())
                    .collect();
                let want = full(&df, &policy, n_cases, due);
                assert!(!want.is_empty());
                assert_eq!(got, want, "{policy:?} {}", due.use_capacity);
                // Every case due is queued, however low it ranks.
                let cases = ranked.column("case_id").unwrap().str().unwrap();
                let queued: HashSet<&str> =
                    sel.leads.iter().map(|&i| cases.get(i).unwrap()).collect();
                assert!(due.cases.iter().all(|c| queued.contains(c.as_str())));
            }
        }
    }
}
