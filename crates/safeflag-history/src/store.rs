//! The SQLite store: runs, flags, reviews.
//!
//! Dates are ISO `YYYY-MM-DD` text, which sorts as dates do. A run date has
//! at most one successful run: recording a run for a date that already has
//! one replaces it and its flags in the same transaction, so a rerun never
//! duplicates history. Failed runs (a tripped gate) are kept as a log.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::outcomes::SCHEMA_4;
use crate::reviews::Review;
use crate::{CaseState, Error, Result};

/// The newest schema this code writes.
pub const SCHEMA_VERSION: i64 = 4;

/// Version 3: each flag keeps its lead child's race/ethnicity group, so
/// overrides can be counted by group.
const SCHEMA_3: &str = "ALTER TABLE flags ADD COLUMN race_ethnicity TEXT;";

/// Version 2: what reviewers return in their workbooks. Every change of an
/// answer is a new version beside the old one, never an overwrite.
const SCHEMA_2: &str = "
CREATE TABLE review_versions (
    case_id TEXT NOT NULL,
    review_date TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    version INTEGER NOT NULL,
    instrument TEXT NOT NULL,
    disposition TEXT NOT NULL,
    override_reason TEXT,
    consultation_date TEXT,
    attendees TEXT,
    content TEXT NOT NULL,
    queue_sha256 TEXT NOT NULL,
    source TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    PRIMARY KEY (case_id, review_date, reviewer, version)
);
CREATE TABLE review_ratings (
    case_id TEXT NOT NULL,
    review_date TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    version INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    rating TEXT NOT NULL,
    PRIMARY KEY (case_id, review_date, reviewer, version, item_id)
);
CREATE TABLE review_factors (
    case_id TEXT NOT NULL,
    review_date TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    version INTEGER NOT NULL,
    factor_id TEXT NOT NULL,
    present INTEGER NOT NULL,
    PRIMARY KEY (case_id, review_date, reviewer, version, factor_id)
);
CREATE TABLE action_versions (
    case_id TEXT NOT NULL,
    action TEXT NOT NULL,
    version INTEGER NOT NULL,
    owner TEXT NOT NULL,
    due_date TEXT NOT NULL,
    status TEXT NOT NULL,
    completed_on TEXT,
    content TEXT NOT NULL,
    queue_sha256 TEXT NOT NULL,
    source TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    PRIMARY KEY (case_id, action, version)
);
";

const SCHEMA: &str = "
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    run_date TEXT NOT NULL,
    status TEXT NOT NULL,
    started_unix INTEGER NOT NULL,
    model_id TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    rows_read INTEGER NOT NULL,
    rows_scored INTEGER NOT NULL,
    rows_quarantined INTEGER NOT NULL,
    cases_scored INTEGER NOT NULL,
    cases_queued INTEGER NOT NULL,
    cases_suppressed INTEGER NOT NULL,
    out_dir TEXT NOT NULL
);
CREATE UNIQUE INDEX runs_one_ok_per_date ON runs(run_date) WHERE status = 'ok';
CREATE TABLE flags (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    run_date TEXT NOT NULL,
    case_id TEXT NOT NULL,
    child_id TEXT NOT NULL,
    office TEXT NOT NULL,
    rank INTEGER NOT NULL,
    probability REAL NOT NULL,
    band INTEGER NOT NULL,
    tier TEXT NOT NULL,
    reasons TEXT NOT NULL,
    status TEXT NOT NULL,
    changes TEXT NOT NULL,
    prior_reports INTEGER,
    infants TEXT NOT NULL,
    unrelated_adult INTEGER,
    PRIMARY KEY (run_id, case_id)
);
CREATE INDEX flags_by_case ON flags(case_id, run_date);
CREATE TABLE suppressions (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    case_id TEXT NOT NULL,
    reviewed_on TEXT NOT NULL,
    probability REAL NOT NULL,
    PRIMARY KEY (run_id, case_id)
);
CREATE TABLE reviews (
    case_id TEXT NOT NULL,
    review_date TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    outcome TEXT NOT NULL,
    override_reason TEXT,
    source TEXT NOT NULL,
    PRIMARY KEY (case_id, review_date, reviewer)
);
CREATE INDEX reviews_by_date ON reviews(review_date);
";

/// The latest `(version, content)` a versioned query finds.
fn latest_version(
    tx: &rusqlite::Transaction<'_>,
    query: &str,
    key: impl rusqlite::Params,
) -> rusqlite::Result<Option<(i64, String)>> {
    tx.query_row(query, key, |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
}

/// The version to write for `content` against the latest recorded one
/// (`None`: unchanged, nothing to write), counting it as new, changed or
/// unchanged.
fn next_version(
    latest: Option<(i64, String)>,
    content: &str,
    (new, changed, unchanged): (&mut usize, &mut usize, &mut usize),
) -> Option<i64> {
    match latest {
        Some((_, c)) if c == content => {
            *unchanged += 1;
            None
        }
        Some((v, _)) => {
            *changed += 1;
            Some(v + 1)
        }
        None => {
            *new += 1;
            Some(1)
        }
    }
}

/// What recording a workbook did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkbookImport {
    /// Reviews recorded for the first time.
    pub reviews_new: usize,
    /// Reviews whose answers changed: a new version beside the old.
    pub reviews_changed: usize,
    /// Reviews already recorded as they are.
    pub reviews_unchanged: usize,
    /// Action items recorded for the first time.
    pub actions_new: usize,
    /// Action items that changed (status, dates, owner): a new version.
    pub actions_changed: usize,
    /// Action items already recorded as they are.
    pub actions_unchanged: usize,
}

/// One recorded version of a review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewVersion {
    /// `YYYY-MM-DD`.
    pub review_date: String,
    /// Who reviewed.
    pub reviewer: String,
    /// 1 for the first answers, then one more per change.
    pub version: i64,
    /// `id@version` of the instrument.
    pub instrument: String,
    /// The disposition.
    pub disposition: String,
    /// An override's reason.
    pub override_reason: Option<String>,
    /// `YYYY-MM-DD`, when consulted.
    pub consultation_date: Option<String>,
    /// Who attended.
    pub attendees: Option<String>,
    /// Item id -> rating code.
    pub ratings: std::collections::BTreeMap<String, String>,
    /// Factor id -> present.
    pub factors: std::collections::BTreeMap<String, bool>,
}

/// One recorded version of an action item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionVersion {
    /// What was agreed.
    pub action: String,
    /// 1, then one more per change.
    pub version: i64,
    /// Who does it.
    pub owner: String,
    /// `YYYY-MM-DD`.
    pub due_date: String,
    /// `open`, `done` or `dropped`.
    pub status: String,
    /// `YYYY-MM-DD`, when done.
    pub completed_on: Option<String>,
}

/// One run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Unique id.
    pub run_id: String,
    /// The night it is for.
    pub run_date: String,
    /// `ok` or `gate_failed`.
    pub status: String,
    /// When it started (seconds since the Unix epoch).
    pub started_unix: i64,
    /// The model used.
    pub model_id: String,
    /// The input's sha256.
    pub input_sha256: String,
    /// Rows read.
    pub rows_read: i64,
    /// Rows scored.
    pub rows_scored: i64,
    /// Rows quarantined.
    pub rows_quarantined: i64,
    /// Cases scored.
    pub cases_scored: i64,
    /// Cases queued.
    pub cases_queued: i64,
    /// Cases passed over after a review.
    pub cases_suppressed: i64,
    /// Where its outputs are.
    pub out_dir: String,
}

/// One queued case in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagRecord {
    /// The run.
    pub run_id: String,
    /// The run's date.
    pub run_date: String,
    /// The case.
    pub case_id: String,
    /// Its lead child.
    pub child_id: String,
    /// Its office.
    pub office: String,
    /// Rank in the queue.
    pub rank: i64,
    /// Lead probability.
    pub probability: f64,
    /// Band 1-20.
    pub band: i64,
    /// Tier.
    pub tier: String,
    /// Top reasons in plain words.
    pub reasons: String,
    /// `new`, `continuing` or `re-flagged`.
    pub status: String,
    /// Material changes since a review, if that is why it is queued again.
    pub changes: String,
    /// The case's state that night, for later suppression checks.
    pub state: CaseState,
    /// The lead child's race/ethnicity group (empty in flags recorded
    /// before the history kept it).
    #[serde(default)]
    pub race_ethnicity: Option<String>,
}

/// A case suppressed in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuppressionRecord {
    /// The case.
    pub case_id: String,
    /// The review that suppressed it.
    pub reviewed_on: String,
    /// Its lead probability that night.
    pub probability: f64,
}

/// Everything the store knows about one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseHistory {
    /// Its flags, oldest first.
    pub flags: Vec<FlagRecord>,
    /// The nights it was suppressed: (run date, suppression).
    pub suppressed: Vec<(String, SuppressionRecord)>,
    /// Its reviews, oldest first.
    pub reviews: Vec<Review>,
}

/// The history store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating and migrating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            safeflag_core::output::create_private_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let existed = path.exists();
        let conn = Connection::open(path).map_err(|e| sql(path, e))?;
        if !existed {
            restrict(path);
        }
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store
            .conn
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
            .map_err(|e| store.err(e))?;
        let version: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| store.err(e))?;
        match version {
            0 => store
                .conn
                .execute_batch(&format!(
                    "BEGIN; {SCHEMA} {SCHEMA_2} {SCHEMA_3} {SCHEMA_4} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))
                .map_err(|e| store.err(e))?,
            // A store of an earlier safeflag: the new tables and columns are
            // added (empty for what it recorded), nothing else changes.
            1 => store
                .conn
                .execute_batch(&format!(
                    "BEGIN; {SCHEMA_2} {SCHEMA_3} {SCHEMA_4} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))
                .map_err(|e| store.err(e))?,
            2 => store
                .conn
                .execute_batch(&format!(
                    "BEGIN; {SCHEMA_3} {SCHEMA_4} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))
                .map_err(|e| store.err(e))?,
            3 => store
                .conn
                .execute_batch(&format!(
                    "BEGIN; {SCHEMA_4} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))
                .map_err(|e| store.err(e))?,
            SCHEMA_VERSION => {}
            found => {
                return Err(Error::Schema {
                    path: path.to_path_buf(),
                    found,
                    known: SCHEMA_VERSION,
                });
            }
        }
        Ok(store)
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        sql(&self.path, e)
    }

    /// The store's file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for a module's own transaction.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Every row of a query, each mapped by `f`.
    pub(crate) fn rows<T, P: rusqlite::Params>(
        &self,
        query: &str,
        params: P,
        f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut st = self.conn.prepare(query).map_err(|e| self.err(e))?;
        let rows = st.query_map(params, f).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<T>>>()
            .map_err(|e| self.err(e))
    }

    /// Records a successful run with its flags and suppressions, replacing
    /// any earlier successful run of the same date, in one transaction.
    pub fn record_run(
        &mut self,
        run: &RunRecord,
        flags: &[FlagRecord],
        suppressed: &[SuppressionRecord],
    ) -> Result<()> {
        let path = self.path.clone();
        let e = |e| sql(&path, e);
        let tx = self.conn.transaction().map_err(e)?;
        tx.execute(
            "DELETE FROM runs WHERE run_date = ?1 AND status = 'ok'",
            params![run.run_date],
        )
        .map_err(e)?;
        insert_run(&tx, run).map_err(e)?;
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO flags VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)",
                )
                .map_err(e)?;
            for f in flags {
                st.execute(params![
                    f.run_id,
                    f.run_date,
                    f.case_id,
                    f.child_id,
                    f.office,
                    f.rank,
                    f.probability,
                    f.band,
                    f.tier,
                    f.reasons,
                    f.status,
                    f.changes,
                    f.state.prior_reports,
                    f.state
                        .infants
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(","),
                    f.state.unrelated_adult,
                    f.race_ethnicity,
                ])
                .map_err(e)?;
            }
            let mut st = tx
                .prepare("INSERT INTO suppressions VALUES (?1,?2,?3,?4)")
                .map_err(e)?;
            for s in suppressed {
                st.execute(params![run.run_id, s.case_id, s.reviewed_on, s.probability])
                    .map_err(e)?;
            }
        }
        safeflag_core::fault::point("history-before-commit");
        if safeflag_core::fault::injected("store-full") {
            // What SQLite says when the disk under the store is full; the
            // transaction is dropped, so rolled back, as a real failure's is.
            return Err(e(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                Some("database or disk is full (injected)".into()),
            )));
        }
        tx.commit().map_err(e)
    }

    /// Records a run that published nothing (a tripped gate).
    pub fn record_failed_run(&mut self, run: &RunRecord) -> Result<()> {
        insert_run(&self.conn, run).map_err(|e| self.err(e))
    }

    /// The latest successful run before `date`.
    pub fn previous_run(&self, date: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT run_id FROM runs WHERE status = 'ok' AND run_date < ?1 ORDER BY run_date DESC LIMIT 1",
                params![date],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The cases queued in a run.
    pub fn flagged_in(&self, run_id: &str) -> Result<HashSet<String>> {
        let ids = self.rows(
            "SELECT case_id FROM flags WHERE run_id = ?1",
            params![run_id],
            |r| r.get(0),
        )?;
        Ok(ids.into_iter().collect())
    }

    /// Whether a case was queued by any successful run before `date`.
    pub fn flagged_before(&self, case_id: &str, date: &str) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM flags WHERE case_id = ?1 AND run_date < ?2)",
                params![case_id, date],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// The latest review of each case dated in `(from, to]`.
    pub fn reviews_between(&self, from: &str, to: &str) -> Result<Vec<(String, String)>> {
        self.rows(
            "SELECT case_id, MAX(review_date) FROM reviews WHERE review_date > ?1 AND review_date <= ?2 GROUP BY case_id ORDER BY case_id",
            params![from, to],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// The case's state in its latest flag on or before `review_date` (and before `tonight`).
    pub fn reviewed_state(
        &self,
        case_id: &str,
        review_date: &str,
        tonight: &str,
    ) -> Result<Option<CaseState>> {
        self.conn
            .query_row(
                "SELECT probability, prior_reports, infants, unrelated_adult FROM flags
                 WHERE case_id = ?1 AND run_date <= ?2 AND run_date < ?3
                 ORDER BY run_date DESC LIMIT 1",
                params![case_id, review_date, tonight],
                |r| case_state(r, [0, 1, 2, 3]),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Imports reviews in one transaction; a review already present (same
    /// case, date and reviewer) is replaced, so importing a file twice is harmless.
    pub fn import_reviews(&mut self, reviews: &[Review], source: &str) -> Result<usize> {
        let path = self.path.clone();
        let e = |e| sql(&path, e);
        let tx = self.conn.transaction().map_err(e)?;
        {
            let mut st = tx
                .prepare("INSERT OR REPLACE INTO reviews VALUES (?1,?2,?3,?4,?5,?6)")
                .map_err(e)?;
            for r in reviews {
                st.execute(params![
                    r.case_id,
                    r.review_date,
                    r.reviewer,
                    r.outcome,
                    r.override_reason,
                    source
                ])
                .map_err(e)?;
            }
        }
        tx.commit().map_err(e)?;
        Ok(reviews.len())
    }

    /// Records a returned workbook in one transaction: each review and
    /// action is new (version 1), unchanged since its latest version (nothing
    /// written), or changed (a new version beside the old). A review also
    /// goes into the reviews the night's suppression reads. Importing the
    /// same workbook again changes nothing.
    pub fn record_workbook(
        &mut self,
        returned: &safeflag_review::returned::Returned,
        source: &str,
        source_sha256: &str,
    ) -> Result<WorkbookImport> {
        let path = self.path.clone();
        let e = |e| sql(&path, e);
        let queue = returned.provenance.queue_sha256.as_str();
        let instrument = returned.provenance.instrument.as_str();
        let mut out = WorkbookImport::default();
        let tx = self.conn.transaction().map_err(e)?;
        for r in &returned.reviews {
            let date = r.review_date.to_string();
            let content = serde_json::json!({
                "instrument": instrument,
                "disposition": r.disposition,
                "override_reason": r.override_reason,
                "consultation_date": r.consultation_date.map(|d| d.to_string()),
                "attendees": r.attendees,
                "ratings": r.ratings,
                "factors": r.factors,
            })
            .to_string();
            let latest = latest_version(
                &tx,
                "SELECT version, content FROM review_versions
                 WHERE case_id = ?1 AND review_date = ?2 AND reviewer = ?3
                 ORDER BY version DESC LIMIT 1",
                params![r.case_id, date, r.reviewer],
            )
            .map_err(e)?;
            let counts = (
                &mut out.reviews_new,
                &mut out.reviews_changed,
                &mut out.reviews_unchanged,
            );
            let Some(version) = next_version(latest, &content, counts) else {
                continue;
            };
            tx.execute(
                "INSERT INTO review_versions VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                params![
                    r.case_id,
                    date,
                    r.reviewer,
                    version,
                    instrument,
                    r.disposition,
                    r.override_reason,
                    r.consultation_date.map(|d| d.to_string()),
                    r.attendees,
                    content,
                    queue,
                    source,
                    source_sha256
                ],
            )
            .map_err(e)?;
            for (item, rating) in &r.ratings {
                tx.execute(
                    "INSERT INTO review_ratings VALUES (?1,?2,?3,?4,?5,?6)",
                    params![r.case_id, date, r.reviewer, version, item, rating],
                )
                .map_err(e)?;
            }
            for (factor, present) in &r.factors {
                tx.execute(
                    "INSERT INTO review_factors VALUES (?1,?2,?3,?4,?5,?6)",
                    params![r.case_id, date, r.reviewer, version, factor, present],
                )
                .map_err(e)?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO reviews VALUES (?1,?2,?3,?4,?5,?6)",
                params![
                    r.case_id,
                    date,
                    r.reviewer,
                    r.disposition,
                    r.override_reason,
                    source
                ],
            )
            .map_err(e)?;
        }
        for a in &returned.actions {
            let content = serde_json::json!({
                "owner": a.owner,
                "due_date": a.due_date.to_string(),
                "status": a.status,
                "completed_on": a.completed_on.map(|d| d.to_string()),
            })
            .to_string();
            let latest = latest_version(
                &tx,
                "SELECT version, content FROM action_versions
                 WHERE case_id = ?1 AND action = ?2 ORDER BY version DESC LIMIT 1",
                params![a.case_id, a.action],
            )
            .map_err(e)?;
            let counts = (
                &mut out.actions_new,
                &mut out.actions_changed,
                &mut out.actions_unchanged,
            );
            let Some(version) = next_version(latest, &content, counts) else {
                continue;
            };
            tx.execute(
                "INSERT INTO action_versions VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
                params![
                    a.case_id,
                    a.action,
                    version,
                    a.owner,
                    a.due_date.to_string(),
                    a.status,
                    a.completed_on.map(|d| d.to_string()),
                    content,
                    queue,
                    source,
                    source_sha256
                ],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(out)
    }

    /// Every version of every review of a case recorded from workbooks,
    /// oldest first: `(review_date, reviewer, version, disposition,
    /// ratings as item -> rating)`.
    pub fn review_versions(&self, case_id: &str) -> Result<Vec<ReviewVersion>> {
        let mut versions = self.rows(
            "SELECT review_date, reviewer, version, instrument, disposition, override_reason,
                    consultation_date, attendees
             FROM review_versions WHERE case_id = ?1
             ORDER BY review_date, reviewer, version",
            params![case_id],
            |r| {
                Ok(ReviewVersion {
                    review_date: r.get(0)?,
                    reviewer: r.get(1)?,
                    version: r.get(2)?,
                    instrument: r.get(3)?,
                    disposition: r.get(4)?,
                    override_reason: r.get(5)?,
                    consultation_date: r.get(6)?,
                    attendees: r.get(7)?,
                    ratings: Default::default(),
                    factors: Default::default(),
                })
            },
        )?;
        for v in &mut versions {
            let key = params![case_id, v.review_date, v.reviewer, v.version];
            v.ratings = self
                .rows(
                    "SELECT item_id, rating FROM review_ratings
                     WHERE case_id = ?1 AND review_date = ?2 AND reviewer = ?3 AND version = ?4",
                    key,
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .into_iter()
                .collect();
            v.factors = self
                .rows(
                    "SELECT factor_id, present FROM review_factors
                     WHERE case_id = ?1 AND review_date = ?2 AND reviewer = ?3 AND version = ?4",
                    params![case_id, v.review_date, v.reviewer, v.version],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .into_iter()
                .collect();
        }
        Ok(versions)
    }

    /// Every version of every action item of a case, oldest first:
    /// `(action, version, owner, due_date, status, completed_on)`.
    pub fn action_versions(&self, case_id: &str) -> Result<Vec<ActionVersion>> {
        self.rows(
            "SELECT action, version, owner, due_date, status, completed_on
             FROM action_versions WHERE case_id = ?1 ORDER BY action, version",
            params![case_id],
            |r| {
                Ok(ActionVersion {
                    action: r.get(0)?,
                    version: r.get(1)?,
                    owner: r.get(2)?,
                    due_date: r.get(3)?,
                    status: r.get(4)?,
                    completed_on: r.get(5)?,
                })
            },
        )
    }

    /// The latest review of each case on or before `date`: `(case_id, review_date)`.
    pub fn latest_reviews(&self, date: &str) -> Result<Vec<(String, String)>> {
        self.rows(
            "SELECT case_id, MAX(review_date) FROM reviews WHERE review_date <= ?1
             GROUP BY case_id ORDER BY case_id",
            params![date],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Every run, newest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>> {
        self.rows(
            "SELECT * FROM runs ORDER BY run_date DESC, started_unix DESC, run_id",
            [],
            |r| {
                Ok(RunRecord {
                    run_id: r.get(0)?,
                    run_date: r.get(1)?,
                    status: r.get(2)?,
                    started_unix: r.get(3)?,
                    model_id: r.get(4)?,
                    input_sha256: r.get(5)?,
                    rows_read: r.get(6)?,
                    rows_scored: r.get(7)?,
                    rows_quarantined: r.get(8)?,
                    cases_scored: r.get(9)?,
                    cases_queued: r.get(10)?,
                    cases_suppressed: r.get(11)?,
                    out_dir: r.get(12)?,
                })
            },
        )
    }

    /// A case's flags (oldest first), its suppressions and its reviews.
    pub fn case_history(&self, case_id: &str) -> Result<CaseHistory> {
        let flags = self.rows(
            "SELECT * FROM flags WHERE case_id = ?1 ORDER BY run_date",
            params![case_id],
            |r| {
                Ok(FlagRecord {
                    run_id: r.get(0)?,
                    run_date: r.get(1)?,
                    case_id: r.get(2)?,
                    child_id: r.get(3)?,
                    office: r.get(4)?,
                    rank: r.get(5)?,
                    probability: r.get(6)?,
                    band: r.get(7)?,
                    tier: r.get(8)?,
                    reasons: r.get(9)?,
                    status: r.get(10)?,
                    changes: r.get(11)?,
                    state: case_state(r, [6, 12, 13, 14])?,
                    race_ethnicity: r.get(15)?,
                })
            },
        )?;
        let suppressed = self.rows(
            "SELECT r.run_date, s.case_id, s.reviewed_on, s.probability FROM suppressions s
             JOIN runs r ON r.run_id = s.run_id WHERE s.case_id = ?1 ORDER BY r.run_date",
            params![case_id],
            |r| {
                Ok((
                    r.get(0)?,
                    SuppressionRecord {
                        case_id: r.get(1)?,
                        reviewed_on: r.get(2)?,
                        probability: r.get(3)?,
                    },
                ))
            },
        )?;
        let reviews = self.rows(
            "SELECT case_id, review_date, reviewer, outcome, override_reason FROM reviews
             WHERE case_id = ?1 ORDER BY review_date, reviewer",
            params![case_id],
            |r| {
                Ok(Review {
                    case_id: r.get(0)?,
                    review_date: r.get(1)?,
                    reviewer: r.get(2)?,
                    outcome: r.get(3)?,
                    override_reason: r.get(4)?,
                })
            },
        )?;
        Ok(CaseHistory {
            flags,
            suppressed,
            reviews,
        })
    }
}

/// A [`CaseState`] from a row, given the columns of its probability,
/// prior_reports, infants (comma-separated child ids) and unrelated_adult.
fn case_state(r: &rusqlite::Row<'_>, at: [usize; 4]) -> rusqlite::Result<CaseState> {
    let infants: String = r.get(at[2])?;
    Ok(CaseState {
        probability: r.get(at[0])?,
        prior_reports: r.get(at[1])?,
        infants: infants
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        unrelated_adult: r.get(at[3])?,
    })
}

fn insert_run(conn: &Connection, run: &RunRecord) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO runs VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
        params![
            run.run_id,
            run.run_date,
            run.status,
            run.started_unix,
            run.model_id,
            run.input_sha256,
            run.rows_read,
            run.rows_scored,
            run.rows_quarantined,
            run.cases_scored,
            run.cases_queued,
            run.cases_suppressed,
            run.out_dir
        ],
    )
    .map(|_| ())
}

pub(crate) fn sql(path: &Path, source: rusqlite::Error) -> Error {
    Error::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

/// The store holds case ids and reviewer names: owner-only, like every output.
fn restrict(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A successful run record, for tests.
    pub(crate) fn run(id: &str, date: &str) -> RunRecord {
        RunRecord {
            run_id: id.into(),
            run_date: date.into(),
            status: "ok".into(),
            started_unix: 0,
            model_id: "m".into(),
            input_sha256: "x".into(),
            rows_read: 10,
            rows_scored: 10,
            rows_quarantined: 0,
            cases_scored: 5,
            cases_queued: 1,
            cases_suppressed: 0,
            out_dir: "o".into(),
        }
    }

    /// A flag of `case` at probability `p`, for tests.
    pub(crate) fn flag(run: &str, date: &str, case: &str, p: f64) -> FlagRecord {
        FlagRecord {
            run_id: run.into(),
            run_date: date.into(),
            case_id: case.into(),
            child_id: "K".into(),
            office: "O".into(),
            rank: 1,
            probability: p,
            band: 20,
            tier: "high".into(),
            reasons: "r".into(),
            status: "new".into(),
            changes: String::new(),
            state: CaseState {
                probability: p,
                prior_reports: Some(2),
                infants: ["K".to_string()].into(),
                unrelated_adult: None,
            },
            race_ethnicity: None,
        }
    }

    #[test]
    fn a_rerun_of_a_date_replaces_its_run_and_flags() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("h.sqlite")).unwrap();
        s.record_run(
            &run("a", "2025-01-01"),
            &[flag("a", "2025-01-01", "C1", 0.3)],
            &[],
        )
        .unwrap();
        s.record_run(
            &run("b", "2025-01-01"),
            &[flag("b", "2025-01-01", "C2", 0.4)],
            &[],
        )
        .unwrap();
        let runs = s.runs().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].run_id, "b");
        assert!(
            s.case_history("C1").unwrap().flags.is_empty(),
            "old flags gone"
        );
        assert_eq!(s.case_history("C2").unwrap().flags.len(), 1);
        assert_eq!(s.previous_run("2025-01-02").unwrap().as_deref(), Some("b"));
        assert_eq!(s.previous_run("2025-01-01").unwrap(), None);
        // A gate failure is logged beside it, not in place of it.
        let mut failed = run("c", "2025-01-01");
        failed.status = "gate_failed".into();
        s.record_failed_run(&failed).unwrap();
        assert_eq!(s.runs().unwrap().len(), 2);
        assert_eq!(s.previous_run("2025-01-02").unwrap().as_deref(), Some("b"));
    }

    #[test]
    fn the_reviewed_state_is_the_flag_the_reviewer_saw() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let mut s = Store::open(&path).unwrap();
        s.record_run(
            &run("a", "2025-01-01"),
            &[flag("a", "2025-01-01", "C1", 0.3)],
            &[],
        )
        .unwrap();
        s.record_run(
            &run("b", "2025-01-03"),
            &[flag("b", "2025-01-03", "C1", 0.5)],
            &[],
        )
        .unwrap();
        let review = |date: &str| Review {
            case_id: "C1".into(),
            review_date: date.into(),
            reviewer: "R".into(),
            outcome: "coached".into(),
            override_reason: None,
        };
        assert_eq!(s.import_reviews(&[review("2025-01-02")], "f").unwrap(), 1);
        assert_eq!(s.import_reviews(&[review("2025-01-02")], "f").unwrap(), 1);
        assert_eq!(
            s.case_history("C1").unwrap().reviews.len(),
            1,
            "re-import replaces"
        );
        let st = s
            .reviewed_state("C1", "2025-01-02", "2025-01-05")
            .unwrap()
            .unwrap();
        assert_eq!(st.probability, 0.3, "the flag of 01-01, not the later one");
        assert_eq!(st.infants.len(), 1);
        assert_eq!(
            s.reviews_between("2024-12-31", "2025-01-05").unwrap(),
            vec![("C1".to_string(), "2025-01-02".to_string())]
        );
        assert!(
            s.reviews_between("2025-01-02", "2025-01-05")
                .unwrap()
                .is_empty()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
