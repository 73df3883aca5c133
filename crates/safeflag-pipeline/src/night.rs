//! The whole night as one run, and the history commands around it.
//!
//! Order of a night, and why:
//! 1. take the lock (a second run fails with [`ErrorKind::Locked`], naming
//!    the holder);
//! 2. build the whole run in `ROOT/.staging/RUN_ID/`: score and queue with
//!    review suppression, then exports, report and the manifest. A tripped
//!    gate stops here: nothing is published, the attempt is logged in the
//!    store under its date and its quarantine kept in `ROOT/failed/RUN_ID/`;
//! 3. publish by renaming the staging directory to `ROOT/runs/DATE/`
//!    (an earlier run of the same date is moved aside first, then removed);
//! 4. record the run and its flags in one SQLite transaction that replaces
//!    any earlier run of the same date.
//!
//! A crash anywhere leaves the published run and the store each either as
//! before or as after; a rerun of the date redoes both, so kill-and-rerun
//! ends where one clean run would.
//!
//! [`ErrorKind::Locked`]: crate::ErrorKind::Locked

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use polars::prelude::*;
use safeflag_core::fault;
use safeflag_core::output::write_bytes_atomic;
use safeflag_history::night::{QueueHistory, Suppression};
use safeflag_history::store::{CaseHistory, SuppressionRecord};
use safeflag_history::{RunLock, RunRecord, Store};
use safeflag_report::manifest::{
    EXTRACT_QUARANTINE, EXTRACT_SNAPSHOT, ExportEntry, OutputFile, REPORT_HTML, REPORT_JSON,
    ReportFiles, RunManifest, SUPPRESSED_CSV,
};
use safeflag_report::{ExportManifest, RunDir, Summary};
use safeflag_score::RowScores;

use crate::extract::{Dates, ExtractSource, build_to_file, read_ungated};
use crate::scoring::{Hooks, ScoringOptions, hash_outputs, score};
use crate::{Config, Error, ErrorKind, Model, Progress, Result};
use safeflag_review::measures::QueueNight;

/// A published night.
#[derive(Debug)]
pub struct Night {
    /// `ROOT/runs/DATE/`.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: RunManifest,
    /// Queued cases by status.
    pub statuses: StatusCounts,
    /// Each export directory (relative to `dir`) and its manifest.
    pub exports: Vec<(String, ExportManifest)>,
    /// The report.
    pub summary: Summary,
}

/// Queued cases by their place in the history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Never queued before.
    pub new: usize,
    /// Queued last time too.
    pub continuing: usize,
    /// Queued before, not last time, or again after a review.
    pub reflagged: usize,
}

/// Runs the night for `date` (default: the snapshot's latest
/// `snapshot_date`) as `config` says.
pub fn run_night(
    config: &Config,
    date: Option<NaiveDate>,
    progress: &dyn Progress,
) -> Result<Night> {
    let lock = take_lock(config)?;
    if let Some(stale) = &lock.stale {
        tracing::warn!(
            "took over a stale lock left by a process that is no longer running ({stale})"
        );
    }
    let model = Model::load(&config.model.dir)?;
    if let Some(pin) = &config.model.sha256
        && !pin.eq_ignore_ascii_case(&model.artifact.sha256)
    {
        return Err(Error::input(format!(
            "model `{}` has sha256 {}, but the config pins {pin}",
            config.model.dir.display(),
            model.artifact.sha256
        )));
    }
    // The reviewer's sheets of tonight's workbooks: checked before any work.
    let instrument = safeflag_review::Instrument::for_model_dir(&config.model.dir)?;
    config.review.calendar()?;
    let mut store = Store::open(&config.history.store)?;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let run_id = run_id(started);
    let root = &config.output.root;
    let staging_root = root.join(".staging");
    // Leftovers of crashed runs: we hold the lock, so nobody else is using them.
    let _ = std::fs::remove_dir_all(&staging_root);
    let staging = staging_root.join(&run_id);
    safeflag_core::output::create_private_dir_all(&staging)
        .map_err(|e| Error::io("creating", &staging, e))?;
    let _span = tracing::info_span!("nightly", run_id = %run_id).entered();
    let night = Staged {
        config,
        model: &model,
        instrument: &instrument,
        run_id: &run_id,
        started,
        staging: &staging,
    };
    let result = night.run(&mut store, date, progress);
    // A clean failure leaves no staging behind: it holds case data. (A tripped
    // gate has moved its staging to `failed/` already.)
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    drop(lock);
    result
}

/// The nights the nightly report's queue over time shows, tonight included.
pub const QUEUE_NIGHTS: u64 = 28;

/// Each office's queue on the `QUEUE_NIGHTS` nights up to tonight: the
/// earlier nights from the history, tonight from its own queue (it is
/// recorded in the history only once published).
fn queue_over_time(
    store: &Store,
    date: &str,
    queue: &polars::prelude::DataFrame,
    suppressed: &polars::prelude::DataFrame,
) -> Result<Vec<QueueNight>> {
    let night: NaiveDate = date
        .parse()
        .map_err(|_| Error::internal(format!("run date `{date}` is not a date")))?;
    let first = night - chrono::Days::new(QUEUE_NIGHTS - 1);
    let before = night - chrono::Days::new(1);
    let mut nights = store.queue_over_time(&first.to_string(), &before.to_string())?;
    let mut tonight: std::collections::BTreeMap<&str, QueueNight> =
        std::collections::BTreeMap::new();
    let offices = queue.column("office")?.str()?;
    let status = queue.column("status")?.str()?;
    for (o, st) in offices.iter().zip(status.iter()) {
        let o = o.unwrap_or_default();
        tonight
            .entry(o)
            .or_insert_with(|| QueueNight::of(date, o))
            .add(st.unwrap_or_default());
    }
    for o in suppressed.column("office")?.str()?.iter() {
        let o = o.unwrap_or_default();
        tonight
            .entry(o)
            .or_insert_with(|| QueueNight::of(date, o))
            .suppressed += 1;
    }
    nights.extend(tonight.into_values());
    Ok(nights)
}

/// The window of nights the nightly report's practice measures look back on.
pub const PRACTICE_NIGHTS: u64 = 91;

/// One night being built in its staging folder.
struct Staged<'a> {
    config: &'a Config,
    model: &'a Model,
    instrument: &'a safeflag_review::Instrument,
    run_id: &'a str,
    started: i64,
    staging: &'a Path,
}

impl Staged<'_> {
    fn run(
        &self,
        store: &mut Store,
        date: Option<NaiveDate>,
        progress: &dyn Progress,
    ) -> Result<Night> {
        let Staged {
            config,
            model,
            instrument,
            run_id,
            started,
            staging,
        } = *self;
        let root = &config.output.root;
        let date_arg = date.map(|d| d.to_string());
        // From an extract: tonight's snapshot is built into the run folder
        // first, and scored like any snapshot.
        let (snapshot, mapping) = match &config.input.extract {
            Some(dir) => (self.build_from_extract(store, dir, date)?, None),
            None => (
                config.snapshot(date_arg.as_deref())?,
                config.input.mapping.clone(),
            ),
        };
        let options = ScoringOptions {
            snapshot,
            mapping,
            prompts: config.model.prompts.clone(),
            policy: config.policy()?,
            max_quarantine: config.input.max_quarantine,
            monitor: config.monitor.clone(),
            out: staging.to_path_buf(),
            scores: config.scores(date_arg.as_deref())?,
            scores_arrow: config.output.scores_arrow,
        };
        let mut hooks = NightHooks {
            store: &*store,
            date,
            policy: config.suppression.clone(),
            re_review: (
                config.review.schedule(),
                config.review.re_reviews_use_capacity,
            ),
            suppression: Suppression::default(),
            history: None,
        };
        let result = score(&options, model, &mut hooks, progress);
        let NightHooks {
            date,
            suppression,
            history,
            ..
        } = hooks;
        let done = match result {
            Ok(done) => done,
            Err(err) if err.kind() == ErrorKind::Gate => {
                self.set_aside(store, "", |failed| {
                    let manifest = RunManifest::read(failed)?;
                    // The night's date even when the gate tripped: the one asked
                    // for, else the snapshot's, else the day the run started.
                    let day = date
                        .map(|d| d.to_string())
                        .or_else(|| manifest.snapshot_date.clone())
                        .unwrap_or_else(|| utc_day(started));
                    Ok(run_record(run_id, &day, started, &manifest, failed))
                })?;
                return Err(err);
            }
            Err(err) => return Err(err),
        };
        fault::point("after-score");
        let date = date
            .ok_or_else(|| Error::internal("the run date was not set"))?
            .to_string();
        let history =
            history.ok_or_else(|| Error::internal("the queue's history was not built"))?;
        let final_dir = root.join("runs").join(&date);

        let mut manifest = done.manifest;
        let suppressions =
            safeflag_history::night::suppression_records(&done.suppressed, &suppression)?;
        write_suppressed(staging, &done.suppressed, &suppressions)?;
        manifest.run_id = Some(run_id.to_string());
        manifest.date = Some(date.clone());
        if let Some(dir) = &config.input.extract {
            // The snapshot built tonight lives in the run folder.
            manifest.input.path = PathBuf::from(EXTRACT_SNAPSHOT);
            manifest.extract = Some(dir.clone());
        }
        manifest.write(staging)?;

        let t = Instant::now();
        let mut run = RunDir::open(staging)?;
        run.label = final_dir.clone();
        let mut exports = Vec::new();
        for &by in &config.export.by {
            for &format in &config.export.formats {
                let sub = format!("exports/{}-{}", by.as_str(), format.extension());
                let m = safeflag_report::export(&run, by, format, &staging.join(&sub), instrument)?;
                exports.push((sub, m));
            }
        }
        fault::point("after-exports");
        let t_exports = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut summary = Summary::of(&run)?;
        summary.practice = Some(self.practice(store, &date)?);
        summary.queue_over_time = queue_over_time(store, &date, &done.queue, &done.suppressed)?;
        let mut report_json = serde_json::to_vec_pretty(&summary)?;
        report_json.push(b'\n');
        write_bytes_atomic(&staging.join(REPORT_JSON), &report_json)?;
        write_bytes_atomic(
            &staging.join(REPORT_HTML),
            safeflag_report::html::render(&summary).as_bytes(),
        )?;

        // The scoring run hashed its own files and the exports theirs; only
        // this job's other files are read here, in one parallel pass.
        let export_manifests: Vec<String> = exports
            .iter()
            .map(|(sub, _)| format!("{sub}/{}", safeflag_report::export::EXPORT_MANIFEST))
            .collect();
        let mut own = vec![SUPPRESSED_CSV, REPORT_JSON, REPORT_HTML];
        own.extend(export_manifests.iter().map(String::as_str));
        let mut hashed = hash_outputs(staging, &own)?.into_iter();
        manifest.outputs.extend(hashed.by_ref().take(3));
        for ((sub, m), listed) in exports.iter().zip(hashed) {
            manifest.outputs.push(listed);
            manifest.outputs.extend(m.files.iter().map(|f| OutputFile {
                file: format!("{sub}/{}", f.file),
                sha256: f.sha256.clone(),
            }));
        }
        manifest.exports = exports
            .iter()
            .map(|(sub, m)| ExportEntry {
                dir: sub.clone(),
                by: m.by,
                format: m.format,
                files: m.files.len(),
                cases: m.cases,
            })
            .collect();
        manifest.report = Some(ReportFiles {
            html: REPORT_HTML.into(),
            json: REPORT_JSON.into(),
        });
        // The scoring run's stages, then this job's own.
        let t_report = t.elapsed().as_secs_f64();
        let total = manifest.seconds.get("total").copied().unwrap_or(0.0) + t_exports + t_report;
        manifest.time("exports", t_exports);
        manifest.time("report", t_report);
        manifest.time("total", total);
        manifest.write(staging)?;
        fault::point("before-publish");

        let published = publish(
            staging,
            &final_dir,
            &staging.with_file_name(format!("replaced-{run_id}")),
        )?;
        fault::point("after-publish");

        // Nothing stays published that the history does not hold: if the
        // history cannot commit, the earlier run of the date is put back.
        let record = run_record(run_id, &date, started, &manifest, &final_dir);
        let statuses = count_statuses(&history);
        let flags = history.for_run(run_id, &date);
        if let Err(e) = store.record_run(&record, &flags, &suppressions) {
            let err = Error::from(e);
            return Err(match published.roll_back() {
            Ok(()) => err.context("nothing published: the history could not record the night"),
            Err(r) => err.context(format!(
                "and putting the earlier run back failed ({r}): `{}` holds a run the history does not know; rerun the date",
                final_dir.display()
            )),
        });
        }
        published.commit();
        fault::point("after-history");
        Ok(Night {
            dir: final_dir,
            manifest,
            statuses,
            exports,
            summary,
        })
    }
}

impl Staged<'_> {
    /// A tripped gate (`what` says on which input): the staging folder, with
    /// its quarantine, moves to `failed/RUN_ID`, the attempt (`record` of that
    /// folder) goes into the history, and nothing is published.
    fn set_aside(
        &self,
        store: &mut Store,
        what: &str,
        record: impl FnOnce(&Path) -> Result<RunRecord>,
    ) -> Result<()> {
        let failed_root = self.config.output.root.join("failed");
        let failed = failed_root.join(self.run_id);
        safeflag_core::output::create_private_dir_all(&failed_root)
            .map_err(|e| Error::io("creating", &failed_root, e))?;
        std::fs::rename(self.staging, &failed).map_err(|e| Error::io("moving", &failed, e))?;
        store.record_failed_run(&record(&failed)?)?;
        tracing::error!(
            "data-quality gate tripped{what}: nothing published; quarantine in {}",
            failed.display()
        );
        Ok(())
    }

    /// Builds tonight's snapshot from the extract into the staging folder.
    /// A tripped gate moves the staging folder, with the extract's
    /// quarantine, to `failed/` and publishes nothing.
    /// The review practice of the `PRACTICE_NIGHTS` nights before `date`,
    /// as of `date` (tonight's flags are not in the history yet).
    fn practice(
        &self,
        store: &Store,
        date: &str,
    ) -> Result<safeflag_history::measures::PracticeMeasures> {
        let night: NaiveDate = date
            .parse()
            .map_err(|_| Error::internal(format!("run date `{date}` is not a date")))?;
        let review = &self.config.review;
        Ok(
            store.practice_measures(&safeflag_history::measures::MeasureOptions {
                from: night - chrono::Days::new(PRACTICE_NIGHTS),
                to: night - chrono::Days::new(1),
                as_of: night,
                review_days: review.review_days,
                consultation_days: review.consultation_days,
                calendar: review.calendar()?,
                second_review_share: review.second_review_share,
            })?,
        )
    }

    fn build_from_extract(
        &self,
        store: &mut Store,
        dir: &Path,
        date: Option<NaiveDate>,
    ) -> Result<PathBuf> {
        let source = ExtractSource {
            dir: dir.to_path_buf(),
            mapping: self.config.input.mapping.clone(),
            max_quarantine: self.config.input.max_quarantine,
        };
        let path = self.staging.join(EXTRACT_SNAPSHOT);
        let quarantine = self.staging.join(EXTRACT_QUARANTINE);
        let x = read_ungated(&source, Some(&quarantine))?;
        if let Err(err) = x.check_gate(source.max_quarantine) {
            // The attempt is logged like a snapshot's tripped gate, with the
            // extract's counts (no snapshot was built, so no input hash).
            let (read, _, quarantined) = x.counts();
            self.set_aside(store, " on the extract", |failed| {
                Ok(RunRecord {
                    run_id: self.run_id.to_string(),
                    run_date: date.unwrap_or(x.extracted_on).to_string(),
                    status: safeflag_report::manifest::RunStatus::GateFailed
                        .as_str()
                        .to_string(),
                    started_unix: self.started,
                    model_id: self.model.artifact.id(),
                    input_sha256: String::new(),
                    rows_read: read as i64,
                    rows_scored: 0,
                    rows_quarantined: quarantined as i64,
                    cases_scored: 0,
                    cases_queued: 0,
                    cases_suppressed: 0,
                    out_dir: failed.display().to_string(),
                })
            })?;
            return Err(err.into());
        }
        build_to_file(&source, &x, Dates::AsOf(date), &path, Some(&quarantine))?;
        Ok(path)
    }
}

fn count_statuses(history: &QueueHistory) -> StatusCounts {
    use safeflag_history::night::FlagStatus;
    StatusCounts {
        new: history.count(FlagStatus::New),
        continuing: history.count(FlagStatus::Continuing),
        reflagged: history.count(FlagStatus::Reflagged),
    }
}

/// Takes the run lock; a held lock fails with [`ErrorKind::Locked`].
pub(crate) fn take_lock(config: &Config) -> Result<RunLock> {
    Ok(RunLock::acquire(&config.lock_path())?)
}

/// `20261122T021500Z-4242`: sortable, unique per process and second; a
/// program that runs several nights in one process gets `-2`, `-3`... after
/// the first.
fn run_id(unix: i64) -> String {
    static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default();
    let id = format!("{}-{}", t.format("%Y%m%dT%H%M%SZ"), std::process::id());
    if n == 0 {
        id
    } else {
        format!("{id}-{}", n + 1)
    }
}

/// The UTC day of a Unix time, `YYYY-MM-DD`.
fn utc_day(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .date_naive()
        .to_string()
}

/// A published run whose history is not recorded yet.
struct Published {
    staging: PathBuf,
    target: PathBuf,
    /// The earlier run of the date, kept until the history commits.
    aside: Option<PathBuf>,
}

impl Published {
    /// The history holds the run: the earlier one can go.
    fn commit(self) {
        if let Some(aside) = &self.aside {
            let _ = std::fs::remove_dir_all(aside);
        }
    }

    /// The history does not: tonight's run goes back to staging and the
    /// earlier run of the date, if any, back in place.
    fn roll_back(self) -> std::io::Result<()> {
        std::fs::rename(&self.target, &self.staging)?;
        if let Some(aside) = &self.aside {
            std::fs::rename(aside, &self.target)?;
        }
        Ok(())
    }
}

/// Moves `staging` to `target`; an existing `target` is moved aside to
/// `aside` first, so `target` is never half old, half new.
fn publish(staging: &Path, target: &Path, aside: &Path) -> Result<Published> {
    if let Some(parent) = target.parent() {
        safeflag_core::output::create_private_dir_all(parent)
            .map_err(|e| Error::io("creating", parent, e))?;
    }
    let replaced = target.exists();
    if replaced {
        std::fs::rename(target, aside)
            .map_err(|e| Error::io("moving the earlier run aside:", target, e))?;
    }
    if let Err(e) = std::fs::rename(staging, target) {
        if replaced {
            let _ = std::fs::rename(aside, target);
        }
        return Err(Error::io("publishing", target, e));
    }
    Ok(Published {
        staging: staging.to_path_buf(),
        target: target.to_path_buf(),
        aside: replaced.then(|| aside.to_path_buf()),
    })
}

/// The store's record of a run, from its manifest.
fn run_record(run_id: &str, date: &str, started: i64, m: &RunManifest, dir: &Path) -> RunRecord {
    let n = |v: u64| v as i64;
    RunRecord {
        run_id: run_id.to_string(),
        run_date: date.to_string(),
        status: m.status.as_str().to_string(),
        started_unix: started,
        model_id: m.model.id.clone(),
        input_sha256: m.input.sha256.clone(),
        rows_read: n(m.counts.rows_read),
        rows_scored: n(m.counts.rows_scored),
        rows_quarantined: n(m.counts.rows_quarantined),
        cases_scored: n(m.counts.cases_scored),
        cases_queued: n(m.counts.cases_queued),
        cases_suppressed: n(m.counts.cases_suppressed),
        out_dir: dir.display().to_string(),
    }
}

/// `suppressed.csv`: the passed-over cases, with the review that suppressed each.
fn write_suppressed(
    dir: &Path,
    suppressed: &DataFrame,
    records: &[SuppressionRecord],
) -> Result<()> {
    let mut df = suppressed.clone();
    let dates: Vec<&str> = records.iter().map(|r| r.reviewed_on.as_str()).collect();
    df.with_column(Column::new("reviewed_on".into(), dates))?;
    safeflag_ingest::write_frame(&mut df, &dir.join(SUPPRESSED_CSV))?;
    Ok(())
}

/// The history's part in a run: suppression before the queue, the history
/// columns and flag records after. The rules are the history crate's.
struct NightHooks<'a> {
    store: &'a Store,
    /// The run date: asked for, or the snapshot's latest date.
    date: Option<NaiveDate>,
    policy: safeflag_history::SuppressionPolicy,
    /// The re-review schedule, and whether re-reviews take capacity.
    re_review: (safeflag_review::schedule::ReReviewPolicy, bool),
    suppression: Suppression,
    history: Option<QueueHistory>,
}

impl Hooks for NightHooks<'_> {
    fn suppressed(
        &mut self,
        snapshot_date: Option<&str>,
        cases: &DataFrame,
        rows: &RowScores,
    ) -> Result<HashSet<String>> {
        if self.date.is_none() {
            self.date = snapshot_date.and_then(|d| d.parse().ok());
        }
        let date = self
            .date
            .ok_or_else(|| Error::input("the snapshot has no valid snapshot_date"))?;
        self.suppression = safeflag_history::night::suppression(
            self.store,
            date,
            &self.policy,
            cases,
            &rows.probabilities,
        )?;
        tracing::info!(
            reviewed = self.suppression.reviewed,
            suppressed = self.suppression.cases.len(),
            "review suppression"
        );
        Ok(self.suppression.cases.clone())
    }

    fn due_reviews(&mut self, cases: &DataFrame) -> Result<safeflag_score::DueReviews> {
        let date = self.date.ok_or_else(|| Error::internal("no run date"))?;
        let (schedule, use_capacity) = self.re_review;
        let due = safeflag_history::night::due_reviews(self.store, date, cases, &schedule)?;
        tracing::info!(due = due.len(), "re-reviews due");
        let cases = due.keys().cloned().collect();
        self.suppression.re_review_due = due;
        Ok(safeflag_score::DueReviews {
            cases,
            use_capacity,
        })
    }

    fn annotate(
        &mut self,
        cases: &DataFrame,
        rows: &RowScores,
        queue: &mut DataFrame,
    ) -> Result<()> {
        let date = self.date.ok_or_else(|| Error::internal("no run date"))?;
        let history = safeflag_history::night::queue_history(
            self.store,
            date,
            &self.suppression,
            queue,
            cases,
            &rows.probabilities,
        )?;
        queue.with_column(Column::new("status".into(), history.status_column()))?;
        queue.with_column(Column::new(
            "since_review".into(),
            history.since_review.clone(),
        ))?;
        self.history = Some(history);
        Ok(())
    }
}

/// Imports reviewer dispositions into the history, all or nothing, under
/// the run lock; returns how many were imported.
pub fn import_reviews(config: &Config, file: &Path) -> Result<usize> {
    let reviews = safeflag_history::reviews::read(file)?;
    // Imports wait for no one, but must not interleave with a nightly run.
    let lock = take_lock(config)?;
    let mut store = Store::open(&config.history.store)?;
    let n = store.import_reviews(&reviews, &file.display().to_string())?;
    drop(lock);
    Ok(n)
}

/// What importing a returned workbook did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WorkbookImported {
    /// The run whose queue the workbook answers for.
    pub run_id: String,
    /// Its night.
    pub run_date: String,
    /// `office` or `supervisor`.
    pub by: String,
    /// Who.
    pub recipient: String,
    /// The instrument the reviews were made with (`id@version`).
    pub instrument: String,
    /// New, changed and unchanged reviews and action items.
    pub recorded: safeflag_history::WorkbookImport,
}

/// Imports a reviewer's returned workbook into the history, all or nothing,
/// under the run lock. The workbook names the queue it answers for (by
/// sha256); the run that published that queue is found in the history, and
/// the workbook may only hold reviews and actions for the cases that run
/// sent to its recipient, rated with `instrument`.
pub fn import_workbook(
    config: &Config,
    file: &Path,
    instrument: &safeflag_review::Instrument,
) -> Result<WorkbookImported> {
    use safeflag_review::returned::{Opened, SentCase};
    let opened = Opened::open(file)?;
    let p = &opened.provenance;
    let lock = take_lock(config)?;
    let mut store = Store::open(&config.history.store)?;
    let run = store
        .runs()?
        .into_iter()
        .filter(|r| r.status == "ok")
        .find(|r| {
            safeflag_report::RunManifest::read(Path::new(&r.out_dir)).is_ok_and(|m| {
                m.outputs
                    .iter()
                    .any(|o| o.file == "queue.parquet" && o.sha256 == p.queue_sha256)
            })
        })
        .ok_or_else(|| {
            Error::input(format!(
                "workbook `{}` answers for a queue no run in the history `{}` published: it is from another run, or another history",
                file.display(),
                config.history.store.display()
            ))
        })?;
    let by = match p.by.as_str() {
        "office" => safeflag_report::Recipient::Office,
        "supervisor" => safeflag_report::Recipient::Supervisor,
        other => {
            return Err(Error::input(format!(
                "workbook `{}` is for a `{}`, neither an office nor a supervisor",
                file.display(),
                safeflag_core::error::quote_value(other)
            )));
        }
    };
    let dir = RunDir::open(Path::new(&run.out_dir))?;
    let q = &dir.queue;
    let text = |c: &str| -> Result<StringChunked> { Ok(q.column(c)?.str()?.clone()) };
    let (cases, recipients, types) = (text("case_id")?, text(by.column())?, text("case_type")?);
    let ages = q.column("youngest_age_days")?.cast(&DataType::Int64)?;
    let ages = ages.i64()?;
    let sent: BTreeMap<String, SentCase> = (0..q.height())
        .filter(|&i| recipients.get(i) == Some(p.recipient.as_str()))
        .filter_map(|i| {
            Some((
                cases.get(i)?.to_string(),
                SentCase {
                    case_type: types.get(i).unwrap_or_default().to_string(),
                    youngest_age_days: ages.get(i),
                },
            ))
        })
        .collect();
    if sent.is_empty() {
        return Err(Error::input(format!(
            "workbook `{}`: run {} sent no cases to {} {}",
            file.display(),
            run.run_id,
            p.by,
            safeflag_core::error::quote_value(&p.recipient)
        )));
    }
    let returned = opened.check(instrument, &sent)?;
    let sha256 =
        safeflag_core::output::sha256_file(file).map_err(|e| Error::io("reading", file, e))?;
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().to_string(),
    );
    let recorded = store.record_workbook(&returned, &name, &sha256)?;
    drop(lock);
    Ok(WorkbookImported {
        run_id: run.run_id,
        run_date: run.run_date,
        by: p.by.clone(),
        recipient: p.recipient.clone(),
        instrument: p.instrument.clone(),
        recorded,
    })
}

/// The practice measures over the nights `from..=to` (default: the first
/// and the last night in the history), taken on `as_of` (default: today),
/// with the config's deadlines and holidays.
pub fn practice_measures(
    config: &Config,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    as_of: Option<NaiveDate>,
) -> Result<safeflag_history::measures::PracticeMeasures> {
    let calendar = config.review.calendar()?;
    let store = Store::open(&config.history.store)?;
    let nights: Vec<NaiveDate> = store
        .runs()?
        .iter()
        .filter(|r| r.status == "ok")
        .filter_map(|r| NaiveDate::parse_from_str(&r.run_date, "%Y-%m-%d").ok())
        .collect();
    let (Some(first), Some(last)) = (nights.iter().min(), nights.iter().max()) else {
        return Err(Error::input(format!(
            "the history `{}` has no published night yet",
            config.history.store.display()
        )));
    };
    let (from, to) = (from.unwrap_or(*first), to.unwrap_or(*last));
    if to < from {
        return Err(Error::input(format!(
            "`--to` {to} is before `--from` {from}"
        )));
    }
    // Today (UTC) by default.
    let as_of = as_of.unwrap_or_else(|| {
        let days = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400);
        NaiveDate::default() + chrono::Days::new(days)
    });
    if as_of < to {
        return Err(Error::input(format!(
            "`--as-of` {as_of} is before the last night counted, {to}"
        )));
    }
    Ok(
        store.practice_measures(&safeflag_history::measures::MeasureOptions {
            from,
            to,
            as_of,
            review_days: config.review.review_days,
            consultation_days: config.review.consultation_days,
            calendar,
            second_review_share: config.review.second_review_share,
        })?,
    )
}

/// Every recorded run, newest first.
pub fn runs(config: &Config) -> Result<Vec<RunRecord>> {
    Ok(Store::open(&config.history.store)?.runs()?)
}

/// One case's flags, suppressions and reviews.
pub fn case_history(config: &Config, case_id: &str) -> Result<CaseHistory> {
    Ok(Store::open(&config.history.store)?.case_history(case_id)?)
}
