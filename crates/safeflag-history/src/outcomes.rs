//! Outcomes in the store: what happened to children after the nights they
//! were scored, and how far the agency's record of them reaches.
//!
//! An outcome is keyed by `(child_id, kind, occurred_on)`: two records of
//! the same kind on the same day for one child are one outcome for every
//! measure the report takes (a child had an incident in a window or not).
//! An import adds new outcomes and updates changed ones (a corrected
//! recording date or severity); it never deletes, and importing the same
//! file again changes nothing. Each import also says the day the agency's
//! record is complete through (`known_through`): a night's window counts as
//! closed only by that day, so a quiet month is never read as "no incident"
//! before the record has caught up.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::store::sql;
use crate::{Result, Store};

/// Version 4 of the schema: outcomes and their imports.
pub(crate) const SCHEMA_4: &str = "
CREATE TABLE outcomes (
    child_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    occurred_on TEXT NOT NULL,
    recorded_on TEXT NOT NULL,
    severity TEXT,
    source TEXT NOT NULL,
    PRIMARY KEY (child_id, kind, occurred_on)
);
CREATE TABLE outcome_imports (
    source_sha256 TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    known_through TEXT NOT NULL,
    rows INTEGER NOT NULL
);
";

/// The day the store's outcomes are complete through: the latest of every
/// import's (NULL before any).
const KNOWN_THROUGH: &str = "SELECT MAX(known_through) FROM outcome_imports";

/// One outcome of one child.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OutcomeRecord {
    /// The child.
    pub child_id: String,
    /// `incident`, `report` or `removal`.
    pub kind: String,
    /// `YYYY-MM-DD`: the day it happened.
    pub occurred_on: String,
    /// `YYYY-MM-DD`: the day it was recorded.
    pub recorded_on: String,
    /// An incident's severity.
    pub severity: Option<String>,
}

/// What recording an outcomes file did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeImport {
    /// Outcomes recorded for the first time.
    pub new: usize,
    /// Outcomes whose recording date or severity changed.
    pub changed: usize,
    /// Outcomes already recorded as they are.
    pub unchanged: usize,
    /// The day the file is complete through.
    pub known_through: String,
    /// The day the store's outcomes are complete through, after the import
    /// (the latest of every import's).
    pub store_known_through: String,
}

impl Store {
    /// Records outcomes from one file in one transaction: all or nothing.
    pub fn record_outcomes(
        &mut self,
        outcomes: &[OutcomeRecord],
        known_through: &str,
        source: &str,
        source_sha256: &str,
    ) -> Result<OutcomeImport> {
        let path = self.path().to_path_buf();
        let e = |e| sql(&path, e);
        let tx = self.conn_mut().transaction().map_err(e)?;
        let mut done = OutcomeImport {
            known_through: known_through.to_string(),
            ..OutcomeImport::default()
        };
        {
            let mut find = tx
                .prepare(
                    "SELECT recorded_on, severity FROM outcomes
                     WHERE child_id = ?1 AND kind = ?2 AND occurred_on = ?3",
                )
                .map_err(e)?;
            let mut put = tx
                .prepare("INSERT OR REPLACE INTO outcomes VALUES (?1,?2,?3,?4,?5,?6)")
                .map_err(e)?;
            for o in outcomes {
                let old: Option<(String, Option<String>)> = find
                    .query_row(params![o.child_id, o.kind, o.occurred_on], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                    .map_err(e)?;
                match old {
                    Some((rec, sev)) if rec == o.recorded_on && sev == o.severity => {
                        done.unchanged += 1;
                        continue;
                    }
                    Some(_) => done.changed += 1,
                    None => done.new += 1,
                }
                put.execute(params![
                    o.child_id,
                    o.kind,
                    o.occurred_on,
                    o.recorded_on,
                    o.severity,
                    source
                ])
                .map_err(e)?;
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO outcome_imports VALUES (?1,?2,?3,?4)",
            params![source_sha256, source, known_through, outcomes.len() as i64],
        )
        .map_err(e)?;
        done.store_known_through = tx.query_row(KNOWN_THROUGH, [], |r| r.get(0)).map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(done)
    }

    /// Every outcome, by child, kind and day.
    pub fn outcomes(&self) -> Result<Vec<OutcomeRecord>> {
        self.rows(
            "SELECT child_id, kind, occurred_on, recorded_on, severity FROM outcomes
             ORDER BY child_id, kind, occurred_on",
            [],
            |r| {
                Ok(OutcomeRecord {
                    child_id: r.get(0)?,
                    kind: r.get(1)?,
                    occurred_on: r.get(2)?,
                    recorded_on: r.get(3)?,
                    severity: r.get(4)?,
                })
            },
        )
    }

    /// The day the store's outcomes are complete through: the latest of
    /// every import's; `None` before any import.
    pub fn outcomes_known_through(&self) -> Result<Option<String>> {
        let latest: Option<Option<String>> = self.rows(KNOWN_THROUGH, [], |r| r.get(0))?.pop();
        Ok(latest.flatten())
    }

    /// The cases a run queued, in rank order.
    pub fn queued_cases(&self, run_id: &str) -> Result<Vec<String>> {
        self.rows(
            "SELECT case_id FROM flags WHERE run_id = ?1 ORDER BY rank",
            params![run_id],
            |r| r.get(0),
        )
    }

    /// Every review's case and date, oldest first.
    pub fn review_dates(&self) -> Result<Vec<(String, String)>> {
        self.rows(
            "SELECT DISTINCT case_id, review_date FROM reviews ORDER BY case_id, review_date",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(child: &str, on: &str, rec: &str) -> OutcomeRecord {
        OutcomeRecord {
            child_id: child.into(),
            kind: "incident".into(),
            occurred_on: on.into(),
            recorded_on: rec.into(),
            severity: Some("serious_injury".into()),
        }
    }

    #[test]
    fn importing_twice_changes_nothing_and_a_correction_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("h.sqlite")).unwrap();
        assert_eq!(s.outcomes_known_through().unwrap(), None);
        let rows = vec![
            outcome("K1", "2025-01-10", "2025-01-12"),
            outcome("K2", "2025-02-01", "2025-02-01"),
        ];
        let first = s
            .record_outcomes(&rows, "2025-03-01", "a.csv", "aa")
            .unwrap();
        assert_eq!((first.new, first.changed, first.unchanged), (2, 0, 0));
        let again = s
            .record_outcomes(&rows, "2025-03-01", "a.csv", "aa")
            .unwrap();
        assert_eq!((again.new, again.changed, again.unchanged), (0, 0, 2));
        assert_eq!(s.outcomes().unwrap(), rows);

        let mut fixed = rows.clone();
        fixed[1].recorded_on = "2025-02-03".into();
        fixed.push(outcome("K3", "2025-03-20", "2025-03-21"));
        let later = s
            .record_outcomes(&fixed, "2025-04-01", "b.csv", "bb")
            .unwrap();
        assert_eq!((later.new, later.changed, later.unchanged), (1, 1, 1));
        assert_eq!(later.store_known_through, "2025-04-01");
        // An older file imported afterwards does not move the record back.
        let old = s
            .record_outcomes(&rows[..1], "2025-02-01", "c.csv", "cc")
            .unwrap();
        assert_eq!(old.store_known_through, "2025-04-01");
        assert_eq!(s.outcomes().unwrap().len(), 3);
        assert_eq!(
            s.outcomes_known_through().unwrap().as_deref(),
            Some("2025-04-01")
        );
    }
}
