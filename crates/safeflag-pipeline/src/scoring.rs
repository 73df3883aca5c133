//! One scoring run into an output directory, shared by `safeflag score` and
//! the nightly run: ingest -> gate -> features and scores -> queue ->
//! fairness and drift checks -> counts reconciled -> files, each written
//! atomically, the manifest last.
//!
//! The nightly run adds its flag history through [`Hooks`]: which cases a
//! recent review suppresses, and what each queue entry's history is.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::*;
use safeflag_core::fault;
use safeflag_core::output::sha256_file;
use safeflag_ingest::{write_frame, write_quarantine};
use safeflag_report::manifest::{
    InputRef, MANIFEST_FILE, ModelRef, OutputFile, QUARANTINE_CSV, QUEUE_CSV, QUEUE_PARQUET,
    RunManifest, RunSettings, RunStatus, SCORES_ARROW, SCORES_PARQUET, SCORING_OUTPUTS,
};
use safeflag_score::{MonitorOptions, Monitoring, QueuePolicy, RowScores, monitor};

use crate::{Error, Model, Progress, Result};

/// What to run.
#[derive(Debug, Clone)]
pub struct ScoringOptions {
    /// Tonight's snapshot.
    pub snapshot: PathBuf,
    /// Agency mapping, if the extract needs one.
    pub mapping: Option<PathBuf>,
    /// Coaching prompts overriding the model's own (or the built-in ones).
    pub prompts: Option<PathBuf>,
    /// Queue policy, checked ([`crate::settings::queue_policy`]).
    pub policy: QueuePolicy,
    /// The data-quality gate: the largest share of rows that may be quarantined.
    pub max_quarantine: f64,
    /// Fairness and drift thresholds.
    pub monitor: MonitorOptions,
    /// The directory to write.
    pub out: PathBuf,
    /// Probabilities computed in the warehouse, taken instead of safeflag's
    /// own after checking them ([`crate::warehouse`]).
    pub scores: Option<PathBuf>,
    /// Also write every row's score as Arrow IPC (`scores.arrow`); off by
    /// default, as `scores.parquet` holds the same rows (decision 64).
    pub scores_arrow: bool,
}

/// Where the nightly run plugs its history into a scoring run.
pub trait Hooks {
    /// Cases to pass over tonight (reviewed recently, nothing material
    /// changed); `snapshot_date` is the latest among the valid rows.
    fn suppressed(
        &mut self,
        _snapshot_date: Option<&str>,
        _cases: &DataFrame,
        _rows: &RowScores,
    ) -> Result<HashSet<String>> {
        Ok(HashSet::new())
    }
    /// Cases whose re-review falls due tonight: queued whatever their score
    /// (called after [`Hooks::suppressed`]).
    fn due_reviews(&mut self, _cases: &DataFrame) -> Result<safeflag_score::DueReviews> {
        Ok(safeflag_score::DueReviews::default())
    }
    /// Adds columns to the queue before it is written.
    fn annotate(
        &mut self,
        _cases: &DataFrame,
        _rows: &RowScores,
        _queue: &mut DataFrame,
    ) -> Result<()> {
        Ok(())
    }
}

/// No history: `safeflag score`.
pub struct NoHistory;
impl Hooks for NoHistory {}

/// A finished scoring run.
#[derive(Debug)]
pub struct Scored {
    /// The manifest as written.
    pub manifest: RunManifest,
    /// The queue as written.
    pub queue: DataFrame,
    /// Suppressed cases passed over.
    pub suppressed: DataFrame,
}

/// The stages a progress bar counts.
pub const STAGES: u64 = 6;

/// Runs one scoring run into `options.out`. On a tripped gate it removes any
/// stale queue and score files, writes a `gate_failed` manifest and returns
/// the gate error. A failure after scoring removes every output of the run
/// but the quarantine, so no directory mixes two runs.
pub fn score(
    options: &ScoringOptions,
    model: &Model,
    hooks: &mut dyn Hooks,
    progress: &dyn Progress,
) -> Result<Scored> {
    let t0 = Instant::now();
    progress.start(STAGES);
    let (prompts, prompts_ref) = model.prompts(options.prompts.as_deref())?;
    safeflag_core::output::create_private_dir_all(&options.out)
        .map_err(|e| Error::io("creating", &options.out, e))?;

    progress.stage("read and validate");
    let t = Instant::now();
    let validated = crate::ingest_mapped(&options.snapshot, options.mapping.as_deref(), false)?;
    let report = &validated.report;
    write_quarantine(&report.quarantine, &options.out.join(QUARANTINE_CSV))?;
    let read_seconds = t.elapsed().as_secs_f64();
    progress.done();

    let artifact = &model.artifact;
    let mut manifest = RunManifest::new(
        ModelRef {
            id: artifact.id(),
            sha256: artifact.sha256.clone(),
            synthetic: artifact.content.training.synthetic,
            dir: Some(model.dir.clone()),
        },
        InputRef {
            path: options.snapshot.clone(),
            sha256: sha256_file(&options.snapshot)
                .map_err(|e| Error::io("hashing", &options.snapshot, e))?,
            format: report.format.as_str().to_string(),
        },
        RunSettings {
            policy: options.policy.clone(),
            max_quarantine: options.max_quarantine,
            monitor: options.monitor.clone(),
            prompts: prompts_ref,
            mapping: options.mapping.clone(),
        },
    );
    manifest.counts.rows_read = report.rows_read as u64;
    manifest.counts.rows_valid = report.rows_valid as u64;
    manifest.counts.rows_quarantined = report.rows_quarantined as u64;
    manifest.time("read+validate", read_seconds);
    let cases = &validated.cases;
    // Known before the gate, so a failed night is recorded under its date.
    manifest.snapshot_date = crate::snapshot_dates(cases)?.1;

    if let Err(gate) = report.check_gate(options.max_quarantine) {
        // Never publish a queue from a broken extract, not even last night's.
        remove_outputs(&options.out, false);
        manifest.status = RunStatus::GateFailed;
        manifest.error = Some(gate.to_string());
        manifest.time("total", t0.elapsed().as_secs_f64());
        manifest.write(&options.out)?;
        progress.finish();
        return Err(gate.into());
    }

    if !options.policy.office_capacities.is_empty() {
        let offices = cases.column("office")?.as_materialized_series().unique()?;
        let offices: std::collections::BTreeSet<&str> = offices.str()?.iter().flatten().collect();
        for office in options.policy.check_offices(&offices)? {
            tracing::warn!("a capacity names office `{office}`, which has no cases tonight");
        }
    }

    progress.stage("features and scores");
    let mut rows = safeflag_score::score_rows_reporting(artifact, cases, &|done, of| {
        progress.rows(done as u64, of as u64)
    })?;
    for (stage, s) in rows.seconds {
        manifest.time(stage, s);
    }
    if let Some(path) = &options.scores {
        let from = crate::warehouse::take_scores(&mut rows, &artifact.content.bands, path)?;
        manifest.scores_from = Some(from);
    }
    progress.done();

    // The score files depend only on the scores: they are compressed and
    // written on their own thread while the queue and the checks are built
    // (mostly one-core work, so the writers get the other core). The id
    // columns arrive in the input's row groups and the scores in one piece;
    // the Parquet writer copies each row group whole as it writes it
    // (`safeflag_ingest::write_frame`). The IPC writer would align the
    // columns itself, holding a second copy of the frame, so with it the
    // frame is made one chunk per column first.
    if options.scores_arrow {
        rows.scores.rechunk_mut_par();
    }
    let model_id = manifest.model.id.clone();
    let (built, written) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            write_score_files(&rows.scores, &model_id, &options.out, options.scores_arrow)
        });
        let built = queue_and_check(
            options,
            model,
            manifest.snapshot_date.as_deref(),
            cases,
            &rows,
            &prompts,
            hooks,
            progress,
        );
        (built, writer.join())
    });
    // Every row read is scored or quarantined, or nothing is published; the
    // queue is written last, its presence meaning the score files are whole.
    let finished = (|| {
        let built = built?;
        let write_seconds =
            written.unwrap_or_else(|_| Err(Error::internal("the score-file writer panicked")))?;
        let rows_scored = rows.scores.height() as u64;
        let rows_read = report.rows_read as u64 + u64::from(fault::injected("miscount"));
        if rows_read != rows_scored + report.rows_quarantined as u64 {
            return Err(Error::internal(format!(
                "counts do not reconcile ({rows_read} read, {rows_scored} scored, {} quarantined)",
                report.rows_quarantined
            )));
        }
        progress.stage("write");
        let t = Instant::now();
        let mut queue = built.queue;
        write_frame(&mut queue, &options.out.join(QUEUE_PARQUET))?;
        write_frame(&mut queue, &options.out.join(QUEUE_CSV))?;
        progress.done();
        let seconds = [
            built.seconds[0],
            built.seconds[1],
            ("write scores", write_seconds),
            ("write queue", t.elapsed().as_secs_f64()),
        ];
        Ok((queue, built.suppressed, built.checks, seconds))
    })();
    let (queue, suppressed, checks, seconds) = match finished {
        Ok(done) => done,
        Err(e) => {
            // Never tonight's score files beside an earlier run's manifest.
            remove_outputs(&options.out, true);
            return Err(e);
        }
    };
    for (stage, s) in seconds {
        manifest.time(stage, s);
    }

    manifest.counts.rows_scored = rows.scores.height() as u64;
    manifest.counts.cases_scored = rows.cases as u64;
    manifest.counts.cases_queued = queue.height() as u64;
    manifest.counts.cases_suppressed = suppressed.height() as u64;
    manifest.monitoring = Some(checks);
    let written: Vec<&str> = SCORING_OUTPUTS
        .into_iter()
        .filter(|name| options.scores_arrow || *name != SCORES_ARROW)
        .collect();
    manifest.outputs = hash_outputs(&options.out, &written)?;
    manifest.time("total", t0.elapsed().as_secs_f64());
    manifest.write(&options.out)?;
    progress.done();
    progress.finish();
    Ok(Scored {
        manifest,
        queue,
        suppressed,
    })
}

/// Removes an earlier (or a failed) run's queue and score files from `out`;
/// tonight's quarantine stays, as it says why. With `manifest`, the
/// manifest goes too.
fn remove_outputs(out: &Path, manifest: bool) {
    for name in SCORING_OUTPUTS.iter().filter(|n| **n != QUARANTINE_CSV) {
        let _ = std::fs::remove_file(out.join(name));
    }
    if manifest {
        let _ = std::fs::remove_file(out.join(MANIFEST_FILE));
    }
}

/// The queue and tonight's checks.
struct Built {
    /// The queue, with the history's columns.
    queue: DataFrame,
    /// Suppressed cases the queue passed over.
    suppressed: DataFrame,
    /// Fairness and drift.
    checks: Monitoring,
    /// Seconds: queue, monitor.
    seconds: [(&'static str, f64); 2],
}

/// The queue (with the history's columns) and tonight's fairness and drift
/// checks.
#[allow(clippy::too_many_arguments)]
fn queue_and_check(
    options: &ScoringOptions,
    model: &Model,
    snapshot_date: Option<&str>,
    cases: &DataFrame,
    rows: &RowScores,
    prompts: &safeflag_score::Prompts,
    hooks: &mut dyn Hooks,
    progress: &dyn Progress,
) -> Result<Built> {
    progress.stage("queue");
    let suppress = hooks.suppressed(snapshot_date, cases, rows)?;
    let due = hooks.due_reviews(cases)?;
    let queued = safeflag_score::queue(
        &model.artifact,
        cases,
        rows,
        &options.policy,
        prompts,
        &suppress,
        &due,
    )?;
    let mut queue = queued.queue;
    hooks.annotate(cases, rows, &mut queue)?;
    stamp(&mut queue, snapshot_date, &model.artifact.id())?;
    progress.done();

    progress.stage("fairness and drift");
    let t = Instant::now();
    let checks = monitor(
        &model.artifact,
        cases,
        rows,
        &queued.case_rows,
        &options.monitor,
    )?;
    for w in &checks.warnings {
        tracing::warn!(kind = %w.kind, "{}", w.message);
    }
    progress.done();
    Ok(Built {
        seconds: [
            ("queue", queued.seconds),
            ("monitor", t.elapsed().as_secs_f64()),
        ],
        suppressed: queued.suppressed,
        queue,
        checks,
    })
}

/// Adds the night and the model to a queue as its last two columns
/// (`snapshot_date`, a date, and `model_id`), so the queues of many nights
/// can be stacked and still say which night and model each row is from.
fn stamp(queue: &mut DataFrame, snapshot_date: Option<&str>, model_id: &str) -> Result<()> {
    let n = queue.height();
    let day = snapshot_date
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .map(safeflag_core::days::to_days);
    let date = Series::new("snapshot_date".into(), [day])
        .cast(&DataType::Date)?
        .new_from_index(0, n);
    queue.with_column(date.into_column())?;
    queue.with_column(model_id_column(model_id, n))?;
    Ok(())
}

/// The model's id on each of `n` rows, held once (a scalar column).
fn model_id_column(model_id: &str, n: usize) -> Column {
    Column::new_scalar(
        "model_id".into(),
        Scalar::new(DataType::String, AnyValue::StringOwned(model_id.into())),
        n,
    )
}

/// Writes `scores.parquet`, and with `arrow` `scores.arrow` beside it, each
/// atomically, with the model's id as their last column (the snapshot date
/// is already each row's own); returns the seconds it took. Without `arrow`
/// an earlier run's `scores.arrow` is removed, so the directory holds only
/// tonight's scores.
fn write_score_files(scores: &DataFrame, model_id: &str, out: &Path, arrow: bool) -> Result<f64> {
    let t = Instant::now();
    let mut scores = scores.clone();
    scores.with_column(model_id_column(model_id, scores.height()))?;
    if arrow {
        let (mut parquet, mut ipc) = (scores.clone(), scores);
        let (a, b) = rayon::join(
            || write_frame(&mut parquet, &out.join(SCORES_PARQUET)),
            || write_frame(&mut ipc, &out.join(SCORES_ARROW)),
        );
        a?;
        b?;
    } else {
        let stale = out.join(SCORES_ARROW);
        match std::fs::remove_file(&stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io("removing", &stale, e));
            }
            _ => {}
        }
        write_frame(&mut scores, &out.join(SCORES_PARQUET))?;
    }
    Ok(t.elapsed().as_secs_f64())
}

/// `file, sha256` of each of `names` in `dir`, hashed in parallel (the two
/// score files of a 5M-row night are 240 MB).
pub fn hash_outputs(dir: &Path, names: &[&str]) -> Result<Vec<OutputFile>> {
    use rayon::prelude::*;
    names
        .par_iter()
        .map(|name| {
            let path = dir.join(name);
            Ok(OutputFile {
                file: (*name).to_string(),
                sha256: sha256_file(&path).map_err(|e| Error::io("hashing", &path, e))?,
            })
        })
        .collect()
}

/// The counts line every run summary prints: `rows read N = scored N + quarantined N`.
pub fn reconciliation(manifest: &RunManifest) -> String {
    let c = &manifest.counts;
    format!(
        "  rows read {} = scored {} + quarantined {}",
        crate::thousands(c.rows_read),
        crate::thousands(c.rows_scored),
        crate::thousands(c.rows_quarantined)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Silent;

    /// History that fails while the score files are being written.
    struct Failing;
    impl Hooks for Failing {
        fn suppressed(
            &mut self,
            _snapshot_date: Option<&str>,
            _cases: &DataFrame,
            _rows: &RowScores,
        ) -> Result<HashSet<String>> {
            Err(Error::internal("the history is unavailable"))
        }
    }

    fn options(out: &Path) -> ScoringOptions {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        ScoringOptions {
            snapshot: root.join("data-samples/snapshot.csv"),
            mapping: None,
            prompts: None,
            policy: crate::settings::queue_policy(Some(20), None, None, None, Default::default())
                .unwrap(),
            max_quarantine: 0.05,
            monitor: MonitorOptions::default(),
            out: out.to_path_buf(),
            scores: None,
            scores_arrow: true,
        }
    }

    fn model() -> Model {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        Model::load(&root.join("models/default")).unwrap()
    }

    /// A run whose queue fails leaves no score files, queue or manifest
    /// behind, not even an earlier run's, so nothing mixes two runs.
    #[test]
    fn a_failed_queue_leaves_no_outputs_of_any_run() {
        let out = tempfile::tempdir().unwrap();
        let model = model();
        let options = options(out.path());
        score(&options, &model, &mut NoHistory, &Silent).unwrap();
        assert!(out.path().join(QUEUE_CSV).exists());
        let err = score(&options, &model, &mut Failing, &Silent).unwrap_err();
        assert!(err.to_string().contains("history is unavailable"), "{err}");
        assert_eq!(err.kind(), safeflag_core::ErrorKind::Internal);
        for name in SCORING_OUTPUTS
            .iter()
            .filter(|n| **n != QUARANTINE_CSV)
            .chain([&MANIFEST_FILE])
        {
            assert!(!out.path().join(name).exists(), "{name} left behind");
        }
        assert!(out.path().join(QUARANTINE_CSV).exists());
    }
}
