//! One scoring run into an output directory, shared by `safeflag score` and
//! `safeflag nightly`: ingest -> gate -> features and scores -> queue ->
//! fairness and drift checks -> files, each written atomically, the manifest last.
//!
//! The nightly job adds its flag history through [`Hooks`]: which cases a
//! recent review suppresses, and what each queue entry's history is.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use polars::prelude::*;
use safeflag_core::output::{sha256_file, write_bytes_atomic};
use safeflag_ingest::{write_frame, write_quarantine};
use safeflag_model::ModelArtifact;
use safeflag_score::{MonitorOptions, Monitoring, Prompts, QueuePolicy, RowScores, monitor};
use serde_json::{Value, json};

/// The files a successful run publishes, besides the manifest.
pub const OUTPUTS: [&str; 5] = [
    "queue.csv",
    "queue.parquet",
    "scores.parquet",
    "scores.arrow",
    "quarantine.csv",
];
/// The manifest, written last.
pub const MANIFEST: &str = "manifest.json";

/// What to run.
pub struct RunSpec {
    /// Tonight's snapshot.
    pub snapshot: PathBuf,
    /// Agency mapping, if the extract needs one.
    pub mapping: Option<PathBuf>,
    /// Coaching prompts file.
    pub prompts: PathBuf,
    /// Queue policy.
    pub policy: QueuePolicy,
    /// The data-quality gate.
    pub max_quarantine: f64,
    /// Fairness and drift thresholds.
    pub monitor: MonitorOptions,
    /// The directory to write.
    pub out: PathBuf,
    /// Show a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
}

/// Where the nightly job plugs its history into a run.
pub trait Hooks {
    /// Cases to pass over tonight (reviewed recently, nothing material changed).
    fn suppressed(
        &mut self,
        _cases: &DataFrame,
        _rows: &RowScores,
    ) -> anyhow::Result<HashSet<String>> {
        Ok(HashSet::new())
    }
    /// Adds columns to the queue before it is written.
    fn annotate(
        &mut self,
        _cases: &DataFrame,
        _rows: &RowScores,
        _queue: &mut DataFrame,
    ) -> anyhow::Result<()> {
        Ok(())
    }
}

/// No history: `safeflag score`.
pub struct NoHistory;
impl Hooks for NoHistory {}

/// A finished run.
pub struct Finished {
    /// The manifest as written.
    pub manifest: Value,
    /// The queue as written.
    pub queue: DataFrame,
    /// Suppressed cases passed over.
    pub suppressed: DataFrame,
}

/// The stages a progress bar counts.
const STAGES: u64 = 6;

/// Runs one scoring run into `spec.out`. On a tripped gate it removes any
/// stale queue and score files, writes a `gate_failed` manifest and returns
/// the gate error.
pub fn execute(
    spec: &RunSpec,
    model: &ModelArtifact,
    hooks: &mut dyn Hooks,
) -> anyhow::Result<Finished> {
    let t0 = Instant::now();
    let bar = progress(spec.progress);
    let mut seconds: Vec<(&str, f64)> = Vec::new();
    let prompts = Prompts::from_path(&spec.prompts, &model.content.feature_spec.names())?;
    std::fs::create_dir_all(&spec.out)
        .with_context(|| format!("creating `{}`", spec.out.display()))?;

    bar.set_message("read and validate");
    let t = Instant::now();
    let validated = super::ingest_mapped(&spec.snapshot, spec.mapping.as_deref(), false)?;
    let report = &validated.report;
    write_quarantine(&report.quarantine, &spec.out.join("quarantine.csv"))?;
    seconds.push(("read+validate", t.elapsed().as_secs_f64()));
    bar.inc(1);

    let mut manifest = json!({
        "type": "run_manifest",
        "schema_version": 2,
        "tool_version": env!("CARGO_PKG_VERSION"),
        "model": {"id": model.id(), "sha256": model.sha256, "synthetic": model.content.training.synthetic},
        "input": {"path": spec.snapshot, "sha256": sha256_file(&spec.snapshot)?, "format": report.format.as_str()},
        "settings": {
            "policy": spec.policy,
            "max_quarantine": spec.max_quarantine,
            "monitor": spec.monitor,
            "prompts": {"path": spec.prompts, "sha256": sha256_file(&spec.prompts)?},
            "mapping": spec.mapping,
        },
        "counts": {
            "rows_read": report.rows_read,
            "rows_valid": report.rows_valid,
            "rows_quarantined": report.rows_quarantined,
        },
    });

    if let Err(gate) = report.check_gate(spec.max_quarantine) {
        // Never publish a queue from a broken extract, not even last night's.
        remove_outputs(&spec.out);
        manifest["status"] = json!("gate_failed");
        manifest["error"] = json!(gate.to_string());
        manifest["seconds"] = timings(&seconds, t0);
        write_manifest(&spec.out, &manifest)?;
        bar.finish_and_clear();
        return Err(gate.into());
    }

    bar.set_message("features and scores");
    let cases = &validated.cases;
    manifest["snapshot_date"] = json!(latest_date(cases)?);
    let rows = safeflag_score::score_rows(model, cases)?;
    seconds.extend(rows.seconds);
    bar.inc(1);

    // The score files depend only on the scores: they are compressed and
    // written on their own thread while the queue and the checks are built
    // (mostly one-core work, so the writers get the other core). One chunk
    // per column first: the id columns arrive in the input's row groups and
    // the scores in one piece, and the IPC writer would otherwise align them
    // itself, holding a second copy of the frame (1.3 GB more at the peak of
    // a 5M-row night, and 2.5 s slower).
    let mut rows = rows;
    rows.scores.rechunk_mut_par();
    let (built, written) = std::thread::scope(|s| {
        let writer = s.spawn(|| write_score_files(&rows.scores, &spec.out));
        let built = queue_and_check(spec, model, cases, &rows, &prompts, hooks, &bar);
        (built, writer.join())
    });
    let written =
        written.unwrap_or_else(|_| Err(anyhow::anyhow!("the score-file writer panicked")));
    let (built, write_seconds) = match (built, written) {
        (Ok(built), Ok(write_seconds)) => (built, write_seconds),
        (Err(e), _) | (_, Err(e)) => {
            // Never tonight's score files beside an earlier run's queue.
            remove_outputs(&spec.out);
            let _ = std::fs::remove_file(spec.out.join(MANIFEST));
            return Err(e);
        }
    };
    seconds.extend(built.seconds);
    seconds.push(("write scores", write_seconds));
    let Built {
        mut queue,
        suppressed,
        checks,
        ..
    } = built;

    bar.set_message("write");
    let t = Instant::now();
    // The queue last: its presence means the run's score files are complete.
    write_frame(&mut queue, &spec.out.join("queue.parquet"))?;
    write_frame(&mut queue, &spec.out.join("queue.csv"))?;
    seconds.push(("write queue", t.elapsed().as_secs_f64()));
    bar.inc(1);
    let rows_scored = rows.scores.height();
    let cases_scored = rows.cases;

    anyhow::ensure!(
        report.rows_read == rows_scored + report.rows_quarantined,
        "internal: counts do not reconcile ({} read, {} scored, {} quarantined)",
        report.rows_read,
        rows_scored,
        report.rows_quarantined
    );
    manifest["status"] = json!("ok");
    manifest["counts"]["rows_scored"] = json!(rows_scored);
    manifest["counts"]["cases_scored"] = json!(cases_scored);
    manifest["counts"]["cases_queued"] = json!(queue.height());
    manifest["counts"]["cases_suppressed"] = json!(suppressed.height());
    manifest["monitoring"] = serde_json::to_value(&checks)?;
    manifest["outputs"] = outputs(&spec.out, &OUTPUTS)?;
    manifest["seconds"] = timings(&seconds, t0);
    write_manifest(&spec.out, &manifest)?;
    bar.inc(1);
    bar.finish_and_clear();
    Ok(Finished {
        manifest,
        queue,
        suppressed,
    })
}

/// Removes an earlier run's queue and score files from `out` (tonight's
/// quarantine stays: it says why).
fn remove_outputs(out: &Path) {
    for name in OUTPUTS.iter().filter(|n| **n != "quarantine.csv") {
        let _ = std::fs::remove_file(out.join(name));
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
fn queue_and_check(
    spec: &RunSpec,
    model: &ModelArtifact,
    cases: &DataFrame,
    rows: &RowScores,
    prompts: &Prompts,
    hooks: &mut dyn Hooks,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<Built> {
    bar.set_message("queue");
    let suppress = hooks.suppressed(cases, rows)?;
    let queued = safeflag_score::queue(model, cases, rows, &spec.policy, prompts, &suppress)?;
    let mut queue = queued.queue;
    hooks.annotate(cases, rows, &mut queue)?;
    bar.inc(1);

    bar.set_message("fairness and drift");
    let t = Instant::now();
    let checks = monitor(model, cases, &rows.bins, &queued.case_rows, &spec.monitor)?;
    for w in &checks.warnings {
        tracing::warn!(kind = %w.kind, "{}", w.message);
    }
    bar.inc(1);
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

/// Writes `scores.parquet` and `scores.arrow` side by side, each atomically;
/// returns the seconds it took.
fn write_score_files(scores: &DataFrame, out: &Path) -> anyhow::Result<f64> {
    let t = Instant::now();
    let (mut parquet, mut ipc) = (scores.clone(), scores.clone());
    let (a, b) = rayon::join(
        || write_frame(&mut parquet, &out.join("scores.parquet")),
        || write_frame(&mut ipc, &out.join("scores.arrow")),
    );
    a?;
    b?;
    Ok(t.elapsed().as_secs_f64())
}

/// The latest `snapshot_date` among valid rows, as `YYYY-MM-DD`.
pub fn latest_date(cases: &DataFrame) -> anyhow::Result<Option<String>> {
    Ok(super::snapshot_dates(cases)?.1)
}

/// A progress bar on stderr when asked for and stderr is a terminal; hidden otherwise.
fn progress(wanted: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(STAGES);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed:>4} [{bar:24}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// `[{file, sha256}]` for files in `dir`, hashed in parallel (the two score
/// files of a 5M-row night are 240 MB).
pub fn outputs(dir: &Path, names: &[&str]) -> anyhow::Result<Value> {
    use rayon::prelude::*;
    Ok(names
        .par_iter()
        .map(|name| {
            let path = dir.join(name);
            Ok(json!({"file": name, "sha256": sha256_file(&path)?}))
        })
        .collect::<std::io::Result<Vec<Value>>>()?
        .into())
}

/// Seconds per stage, rounded to milliseconds, and the total since `t0`.
pub fn timings(seconds: &[(&str, f64)], t0: Instant) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in seconds {
        m.insert((*k).to_string(), json!((v * 1000.0).round() / 1000.0));
    }
    m.insert(
        "total".into(),
        json!((t0.elapsed().as_secs_f64() * 1000.0).round() / 1000.0),
    );
    Value::Object(m)
}

/// The counts line every run summary prints: `rows read N = scored N + quarantined N`.
pub fn reconciliation(manifest: &Value) -> String {
    let n = |k: &str| super::thousands(manifest["counts"][k].as_u64().unwrap_or(0) as usize);
    format!(
        "  rows read {} = scored {} + quarantined {}",
        n("rows_read"),
        n("rows_scored"),
        n("rows_quarantined")
    )
}

/// Writes `manifest.json` atomically.
pub fn write_manifest(out: &Path, manifest: &Value) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(manifest)?;
    bytes.push(b'\n');
    write_bytes_atomic(&out.join(MANIFEST), &bytes)?;
    Ok(())
}

/// The default prompts file: `coaching-prompts.toml` beside the model directory.
pub fn default_prompts(model: &Path) -> PathBuf {
    let dir = if model.is_dir() {
        model.to_path_buf()
    } else {
        model.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    dir.parent()
        .map(|p| p.join("coaching-prompts.toml"))
        .unwrap_or_else(|| PathBuf::from("coaching-prompts.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// History that fails while the score files are being written.
    struct Failing;
    impl Hooks for Failing {
        fn suppressed(
            &mut self,
            _cases: &DataFrame,
            _rows: &RowScores,
        ) -> anyhow::Result<HashSet<String>> {
            anyhow::bail!("the history is unavailable")
        }
    }

    /// A run whose queue fails leaves no score files, queue or manifest
    /// behind, not even an earlier run's, so nothing mixes two runs.
    #[test]
    fn a_failed_queue_leaves_no_outputs_of_any_run() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let model_dir = root.join("models/default");
        let model = ModelArtifact::load(&model_dir).unwrap();
        let out = tempfile::tempdir().unwrap();
        let spec = RunSpec {
            snapshot: root.join("data-samples/snapshot.csv"),
            mapping: None,
            prompts: default_prompts(&model_dir),
            policy: QueuePolicy {
                top_n: Some(20),
                ..QueuePolicy::default()
            },
            max_quarantine: 0.05,
            monitor: MonitorOptions::default(),
            out: out.path().to_path_buf(),
            progress: false,
        };
        execute(&spec, &model, &mut NoHistory).unwrap();
        assert!(out.path().join("queue.csv").exists());
        let Err(err) = execute(&spec, &model, &mut Failing) else {
            panic!("a failing history must fail the run");
        };
        assert!(err.to_string().contains("history is unavailable"), "{err}");
        for name in OUTPUTS
            .iter()
            .filter(|n| **n != "quarantine.csv")
            .chain([&MANIFEST])
        {
            assert!(!out.path().join(name).exists(), "{name} left behind");
        }
        assert!(out.path().join("quarantine.csv").exists());
    }
}
