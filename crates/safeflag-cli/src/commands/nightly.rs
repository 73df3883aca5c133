//! `safeflag nightly`: the whole night as one run, and the history commands
//! (`reviews import`, `runs`, `history`).
//!
//! Order of a night, and why:
//! 1. take the lock (a second run exits 4 naming the holder);
//! 2. build the whole run in `ROOT/.staging/RUN_ID/`: score and queue with
//!    review suppression, then exports, report and the manifest. A tripped
//!    gate stops here: nothing is published, the attempt is logged in the
//!    store and its quarantine kept in `ROOT/failed/RUN_ID/`;
//! 3. publish by renaming the staging directory to `ROOT/runs/DATE/`
//!    (an earlier run of the same date is moved aside first, then removed);
//! 4. record the run and its flags in one SQLite transaction that replaces
//!    any earlier run of the same date.
//!
//! A crash anywhere leaves the published run and the store each either as
//! before or as after; a rerun of the date redoes both, so kill-and-rerun
//! ends where one clean run would.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::Context;
use polars::prelude::*;
use safeflag_core::fault;
use safeflag_core::output::write_bytes_atomic;
use safeflag_history::store::SuppressionRecord;
use safeflag_history::{
    CaseState, Decision, FlagRecord, RunLock, RunRecord, Store, SuppressionPolicy, case_states,
    decide,
};
use safeflag_model::ModelArtifact;
use safeflag_report::{RunDir, Summary};
use safeflag_score::RowScores;
use serde_json::{Value, json};

use super::run::{
    Finished, Hooks, RunSpec, default_prompts, execute, latest_date, outputs, write_manifest,
};
use crate::cli::{HistoryArgs, NightlyArgs, ReviewsImportArgs, RunsArgs};
use crate::config::Config;
use crate::exit::ExitStatus;
use crate::printer::Printer;

pub fn run(args: NightlyArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let cfg = Config::load(&args.config)?;
    let date_arg = args.date.map(|d| d.to_string());
    let lock = take_lock(&cfg)?;
    if let Some(stale) = &lock.stale {
        tracing::warn!(
            "took over a stale lock left by a process that is no longer running ({stale})"
        );
    }
    let model = ModelArtifact::load(&cfg.model.dir)?;
    let mut store = Store::open(&cfg.history.store)?;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let run_id = run_id(started);
    let root = &cfg.output.root;
    let staging_root = root.join(".staging");
    // Leftovers of crashed runs: we hold the lock, so nobody else is using them.
    let _ = std::fs::remove_dir_all(&staging_root);
    let staging = staging_root.join(&run_id);
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("creating `{}`", staging.display()))?;
    let _span = tracing::info_span!("nightly", run_id = %run_id).entered();

    let spec = RunSpec {
        snapshot: cfg.snapshot(date_arg.as_deref())?,
        mapping: cfg.input.mapping.clone(),
        prompts: cfg
            .model
            .prompts
            .clone()
            .unwrap_or_else(|| default_prompts(&cfg.model.dir)),
        policy: cfg.policy(),
        max_quarantine: cfg.input.max_quarantine,
        monitor: cfg.monitor.clone(),
        out: staging.clone(),
        progress: !printer.is_quiet(),
    };
    let mut hooks = HistoryHooks {
        store: &store,
        date: date_arg.clone(),
        policy: cfg.suppression.clone(),
        changed: HashMap::new(),
        reviewed_on: HashMap::new(),
        flags: Vec::new(),
    };
    let result = execute(&spec, &model, &mut hooks);
    let HistoryHooks {
        date,
        reviewed_on,
        flags,
        ..
    } = hooks;
    let done = match result {
        Ok(done) => done,
        Err(err) => {
            if err.downcast_ref::<safeflag_ingest::GateFailure>().is_some() {
                let failed = root.join("failed").join(&run_id);
                std::fs::create_dir_all(root.join("failed"))?;
                std::fs::rename(&staging, &failed)?;
                let manifest: Value =
                    serde_json::from_slice(&std::fs::read(failed.join("manifest.json"))?)?;
                let record = run_record(
                    &run_id,
                    date.as_deref().unwrap_or("unknown"),
                    started,
                    &manifest,
                    &failed,
                    "gate_failed",
                );
                store.record_failed_run(&record)?;
                tracing::error!(
                    "data-quality gate tripped: nothing published; quarantine in {}",
                    failed.display()
                );
            }
            return Err(err);
        }
    };
    fault::point("after-score");
    let date = date.context("internal: the run date was not set")?;
    let final_dir = root.join("runs").join(&date);

    let Finished {
        mut manifest,
        queue,
        suppressed,
    } = done;
    let suppressions = suppression_records(&suppressed, &reviewed_on)?;
    write_suppressed(&staging, &suppressed, &suppressions)?;
    manifest["run_id"] = json!(run_id);
    manifest["date"] = json!(date);
    write_manifest(&staging, &manifest)?;

    let t = std::time::Instant::now();
    let mut run = RunDir::open(&staging)?;
    run.label = final_dir.clone();
    let mut exports = Vec::new();
    for &by in &cfg.export.by {
        for &format in &cfg.export.formats {
            let sub = format!(
                "exports/{}-{}",
                serde_json::to_value(by)?.as_str().unwrap_or("by"),
                serde_json::to_value(format)?.as_str().unwrap_or("fmt")
            );
            let m = safeflag_report::export(&run, by, format, &staging.join(&sub))?;
            exports.push((sub, m));
        }
    }
    fault::point("after-exports");
    let t_exports = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let summary = Summary::of(&run)?;
    let mut report_json = serde_json::to_vec_pretty(&summary)?;
    report_json.push(b'\n');
    write_bytes_atomic(&staging.join("report.json"), &report_json)?;
    super::report::write_html(&summary, &staging.join("report.html"))?;

    // The scoring run hashed its own files and the exports theirs; only
    // this job's other files are read here.
    let mut listed = manifest["outputs"].as_array().cloned().unwrap_or_default();
    let mut extend = |v: Value| listed.extend(v.as_array().cloned().unwrap_or_default());
    extend(outputs(
        &staging,
        &["suppressed.csv", "report.json", "report.html"],
    )?);
    for (sub, m) in &exports {
        extend(outputs(
            &staging,
            &[&format!("{sub}/export-manifest.json")],
        )?);
        extend(
            m.files
                .iter()
                .map(|f| json!({"file": format!("{sub}/{}", f.file), "sha256": f.sha256}))
                .collect(),
        );
    }
    manifest["outputs"] = listed.into();
    manifest["exports"] = exports
        .iter()
        .map(|(sub, m)| json!({"dir": sub, "by": m.by, "format": m.format, "files": m.files.len(), "cases": m.cases}))
        .collect::<Vec<_>>()
        .into();
    manifest["report"] = json!({"html": "report.html", "json": "report.json"});
    // The scoring run's stages, then this job's own.
    let seconds = &mut manifest["seconds"];
    seconds["exports"] = json!((t_exports * 1000.0).round() / 1000.0);
    seconds["report"] = json!((t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0);
    let total = seconds["total"].as_f64().unwrap_or(0.0) + t_exports + t.elapsed().as_secs_f64();
    seconds["total"] = json!((total * 1000.0).round() / 1000.0);
    write_manifest(&staging, &manifest)?;
    fault::point("before-publish");

    publish(
        &staging,
        &final_dir,
        &staging_root.join(format!("replaced-{run_id}")),
    )?;
    fault::point("after-publish");

    let record = run_record(&run_id, &date, started, &manifest, &final_dir, "ok");
    let flags: Vec<FlagRecord> = flags
        .into_iter()
        .map(|mut f| {
            f.run_id = run_id.clone();
            f.run_date = date.clone();
            f
        })
        .collect();
    store.record_run(&record, &flags, &suppressions)?;
    fault::point("after-history");
    drop(lock);

    printer.data(&night_summary(
        &final_dir, &manifest, &queue, &exports, &summary,
    ));
    Ok(ExitStatus::Success)
}

/// Takes the run lock; a held lock keeps its type, so it exits 4.
fn take_lock(cfg: &Config) -> anyhow::Result<RunLock> {
    RunLock::acquire(&cfg.lock_path()).map_err(|e| match e {
        safeflag_history::lock::LockError::Held(h) => anyhow::Error::from(h),
        other => anyhow::Error::from(other),
    })
}

/// `20261122T021500Z-4242`: sortable, unique per process and second.
fn run_id(unix: i64) -> String {
    let t = chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default();
    format!("{}-{}", t.format("%Y%m%dT%H%M%SZ"), std::process::id())
}

/// Moves `staging` to `target`; an existing `target` is moved aside to
/// `aside` first and removed after, so `target` is never half old, half new.
fn publish(staging: &Path, target: &Path, aside: &Path) -> anyhow::Result<()> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let replaced = target.exists();
    if replaced {
        std::fs::rename(target, aside)
            .with_context(|| format!("moving the earlier run `{}` aside", target.display()))?;
    }
    std::fs::rename(staging, target)
        .with_context(|| format!("publishing `{}`", target.display()))?;
    if replaced {
        let _ = std::fs::remove_dir_all(aside);
    }
    Ok(())
}

fn run_record(
    run_id: &str,
    date: &str,
    started: i64,
    m: &Value,
    dir: &Path,
    status: &str,
) -> RunRecord {
    let n = |k: &str| m["counts"][k].as_i64().unwrap_or(0);
    RunRecord {
        run_id: run_id.to_string(),
        run_date: date.to_string(),
        status: status.to_string(),
        started_unix: started,
        model_id: m["model"]["id"].as_str().unwrap_or_default().to_string(),
        input_sha256: m["input"]["sha256"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        rows_read: n("rows_read"),
        rows_scored: n("rows_scored"),
        rows_quarantined: n("rows_quarantined"),
        cases_scored: n("cases_scored"),
        cases_queued: n("cases_queued"),
        cases_suppressed: n("cases_suppressed"),
        out_dir: dir.display().to_string(),
    }
}

/// `suppressed.csv`: the passed-over cases, with the review that suppressed each.
fn write_suppressed(
    dir: &Path,
    suppressed: &DataFrame,
    records: &[SuppressionRecord],
) -> anyhow::Result<()> {
    let mut df = suppressed.clone();
    let dates: Vec<&str> = records.iter().map(|r| r.reviewed_on.as_str()).collect();
    df.with_column(Column::new("reviewed_on".into(), dates))?;
    safeflag_ingest::write_frame(&mut df, &dir.join("suppressed.csv"))?;
    Ok(())
}

/// The passed-over cases, in rank order, with the date of the review that suppressed each.
fn suppression_records(
    suppressed: &DataFrame,
    reviewed_on: &HashMap<String, String>,
) -> anyhow::Result<Vec<SuppressionRecord>> {
    let c = suppressed.column("case_id")?.str()?;
    let p = suppressed.column("probability")?.f64()?;
    Ok((0..suppressed.height())
        .map(|i| {
            let case = c.get(i).unwrap_or_default().to_string();
            SuppressionRecord {
                reviewed_on: reviewed_on.get(&case).cloned().unwrap_or_default(),
                probability: p.get(i).unwrap_or(0.0),
                case_id: case,
            }
        })
        .collect())
}

/// The history's part in a run: suppression before the queue, statuses after.
struct HistoryHooks<'a> {
    store: &'a Store,
    /// The run date: `--date`, or the snapshot's latest date.
    date: Option<String>,
    policy: SuppressionPolicy,
    /// Reviewed cases queued again, with what changed.
    changed: HashMap<String, Vec<String>>,
    /// Suppressed cases and the date of the review that suppressed them.
    reviewed_on: HashMap<String, String>,
    /// Tonight's flags, for the store (run id and date filled in later).
    flags: Vec<FlagRecord>,
}

impl Hooks for HistoryHooks<'_> {
    fn suppressed(
        &mut self,
        cases: &DataFrame,
        rows: &RowScores,
    ) -> anyhow::Result<HashSet<String>> {
        if self.date.is_none() {
            self.date = latest_date(cases)?;
        }
        let date = self
            .date
            .clone()
            .context("the snapshot has no valid snapshot_date")?;
        let day = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d")?;
        let from = (day - chrono::Duration::days(self.policy.days)).to_string();
        let reviews = self.store.reviews_between(&from, &date)?;
        let ids: HashSet<String> = reviews.iter().map(|r| r.0.clone()).collect();
        let now = case_states(cases, &rows.probabilities, &ids)?;
        let mut out = HashSet::new();
        for (case, review_date) in reviews {
            let Some(now) = now.get(&case) else { continue };
            // A review with no flag of ours before it has nothing to compare
            // against: the case is queued as usual rather than hidden.
            let Some(before) = self.store.reviewed_state(&case, &review_date, &date)? else {
                continue;
            };
            match decide(&before, now, &self.policy) {
                Decision::Suppress => {
                    self.reviewed_on.insert(case.clone(), review_date);
                    out.insert(case);
                }
                Decision::Changed(changes) => {
                    self.changed.insert(case, changes);
                }
            }
        }
        tracing::info!(
            reviewed = ids.len(),
            suppressed = out.len(),
            "review suppression"
        );
        Ok(out)
    }

    fn annotate(
        &mut self,
        cases: &DataFrame,
        rows: &RowScores,
        queue: &mut DataFrame,
    ) -> anyhow::Result<()> {
        let date = self.date.clone().context("internal: no run date")?;
        let ids: Vec<String> = queue
            .column("case_id")?
            .str()?
            .iter()
            .map(|c| c.unwrap_or_default().to_string())
            .collect();
        let wanted: HashSet<String> = ids.iter().cloned().collect();
        let states = case_states(cases, &rows.probabilities, &wanted)?;
        let previous = match self.store.previous_run(&date)? {
            Some(run) => self.store.flagged_in(&run)?,
            None => HashSet::new(),
        };
        let mut status = Vec::with_capacity(ids.len());
        let mut since = Vec::with_capacity(ids.len());
        for id in &ids {
            let changes = self
                .changed
                .get(id)
                .map(|c| c.join("; "))
                .unwrap_or_default();
            let s = if previous.contains(id) {
                "continuing"
            } else if self.changed.contains_key(id) || self.store.flagged_before(id, &date)? {
                "re-flagged"
            } else {
                "new"
            };
            status.push(s.to_string());
            since.push(changes);
        }
        queue.with_column(Column::new("status".into(), status.clone()))?;
        queue.with_column(Column::new("since_review".into(), since.clone()))?;

        let s = |n: &str| -> anyhow::Result<StringChunked> { Ok(queue.column(n)?.str()?.clone()) };
        let (child, office, tier, reasons) =
            (s("child_id")?, s("office")?, s("tier")?, s("reasons")?);
        let prob = queue.column("probability")?.f64()?.clone();
        let band = queue.column("band")?.cast(&DataType::Int64)?;
        let band = band.i64()?;
        let rank = queue.column("rank")?.cast(&DataType::Int64)?;
        let rank = rank.i64()?;
        for (i, id) in ids.iter().enumerate() {
            let state = states.get(id).cloned().unwrap_or(CaseState {
                probability: prob.get(i).unwrap_or(0.0),
                prior_reports: None,
                infants: Default::default(),
                unrelated_adult: None,
            });
            self.flags.push(FlagRecord {
                run_id: String::new(),
                run_date: String::new(),
                case_id: id.clone(),
                child_id: child.get(i).unwrap_or_default().to_string(),
                office: office.get(i).unwrap_or_default().to_string(),
                rank: rank.get(i).unwrap_or(0),
                probability: prob.get(i).unwrap_or(0.0),
                band: band.get(i).unwrap_or(0),
                tier: tier.get(i).unwrap_or_default().to_string(),
                reasons: reasons.get(i).unwrap_or_default().to_string(),
                status: status[i].clone(),
                changes: since[i].clone(),
                state,
            });
        }
        Ok(())
    }
}

fn night_summary(
    dir: &Path,
    manifest: &Value,
    queue: &DataFrame,
    exports: &[(String, safeflag_report::ExportManifest)],
    summary: &Summary,
) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let c = &manifest["counts"];
    let n = |k: &str| super::thousands(c[k].as_u64().unwrap_or(0) as usize);
    let _ = writeln!(
        s,
        "nightly run {} for {}: model {}",
        manifest["run_id"].as_str().unwrap_or(""),
        manifest["date"].as_str().unwrap_or(""),
        manifest["model"]["id"].as_str().unwrap_or("")
    );
    let _ = writeln!(s, "{}", super::run::reconciliation(manifest));
    let count = |v: &str| {
        queue
            .column("status")
            .ok()
            .and_then(|c| {
                c.str()
                    .ok()
                    .map(|c| c.iter().filter(|s| *s == Some(v)).count())
            })
            .unwrap_or(0)
    };
    let _ = writeln!(
        s,
        "  cases scored {}, queued {} ({} new, {} continuing, {} re-flagged), suppressed after review {}",
        n("cases_scored"),
        n("cases_queued"),
        count("new"),
        count("continuing"),
        count("re-flagged"),
        n("cases_suppressed")
    );
    let w = summary.monitoring.warnings.len();
    if w > 0 {
        let _ = writeln!(s, "  warnings: {w} (see the report)");
    }
    let _ = writeln!(s, "\nqueue:   {}", dir.join("queue.csv").display());
    for (sub, m) in exports {
        let _ = writeln!(
            s,
            "exports: {} ({} files)",
            dir.join(sub).display(),
            m.files.len()
        );
    }
    let _ = writeln!(s, "report:  {}", dir.join("report.html").display());
    s
}

pub fn import_reviews(args: ReviewsImportArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let cfg = Config::load(&args.config)?;
    let reviews = safeflag_history::reviews::read(&args.file)?;
    // Imports wait for no one, but must not interleave with a nightly run.
    let lock = take_lock(&cfg)?;
    let mut store = Store::open(&cfg.history.store)?;
    let n = store.import_reviews(&reviews, &args.file.display().to_string())?;
    drop(lock);
    printer.data(&format!(
        "imported {n} reviews from {} into {}\n",
        args.file.display(),
        cfg.history.store.display()
    ));
    Ok(ExitStatus::Success)
}

pub fn runs(args: RunsArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let cfg = Config::load(&args.config)?;
    let store = Store::open(&cfg.history.store)?;
    let runs = store.runs()?;
    if args.json {
        printer.data(&format!(
            "{}\n",
            serde_json::to_string_pretty(
                &json!({"type": "runs", "schema_version": 1, "runs": runs})
            )?
        ));
        return Ok(ExitStatus::Success);
    }
    let mut s = format!(
        "{:<10} {:<24} {:<11} {:>9} {:>9} {:>7} {:>6} {:>10}\n",
        "date", "run", "status", "rows", "quarant.", "cases", "queued", "suppressed"
    );
    for r in &runs {
        s.push_str(&format!(
            "{:<10} {:<24} {:<11} {:>9} {:>9} {:>7} {:>6} {:>10}\n",
            r.run_date,
            r.run_id,
            r.status,
            r.rows_read,
            r.rows_quarantined,
            r.cases_scored,
            r.cases_queued,
            r.cases_suppressed
        ));
    }
    if runs.is_empty() {
        s.push_str("(no runs yet)\n");
    }
    printer.data(&s);
    Ok(ExitStatus::Success)
}

pub fn history(args: HistoryArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let cfg = Config::load(&args.config)?;
    let store = Store::open(&cfg.history.store)?;
    let safeflag_history::store::CaseHistory {
        flags,
        suppressed,
        reviews,
    } = store.case_history(&args.case_id)?;
    if args.json {
        let suppressed: Vec<Value> = suppressed
            .iter()
            .map(|(d, s)| json!({"run_date": d, "reviewed_on": s.reviewed_on, "probability": s.probability}))
            .collect();
        printer.data(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({
                "type": "case_history", "schema_version": 1, "case_id": args.case_id,
                "flags": flags, "suppressed": suppressed, "reviews": reviews,
            }))?
        ));
        return Ok(ExitStatus::Success);
    }
    let mut s = format!("case {}\n", args.case_id);
    section(&mut s, "flags", "never queued", &flags, |f| {
        format!(
            "{}  rank {:>3}  {:>5.1}%  band {:>2} {:<6}  {:<10} {}{}",
            f.run_date,
            f.rank,
            f.probability * 100.0,
            f.band,
            f.tier,
            f.status,
            f.reasons,
            if f.changes.is_empty() {
                String::new()
            } else {
                format!("  [{}]", f.changes)
            }
        )
    });
    section(
        &mut s,
        "suppressed after review",
        "none",
        &suppressed,
        |(d, r)| {
            format!(
                "{d}  {:>5.1}%  reviewed {}",
                r.probability * 100.0,
                r.reviewed_on
            )
        },
    );
    section(&mut s, "reviews", "none", &reviews, |r| {
        format!(
            "{}  {:<12} {:<12} {}",
            r.review_date,
            r.reviewer,
            r.outcome,
            r.override_reason.as_deref().unwrap_or("")
        )
    });
    printer.data(&s);
    Ok(ExitStatus::Success)
}

/// A titled list of lines, or `empty` when there are none.
fn section<T>(s: &mut String, title: &str, empty: &str, items: &[T], line: impl Fn(&T) -> String) {
    s.push_str(&format!("\n{title}\n"));
    if items.is_empty() {
        s.push_str(&format!("  {empty}\n"));
    }
    for item in items {
        s.push_str(&format!("  {}\n", line(item)));
    }
}
