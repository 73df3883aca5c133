//! The history's part in one night, as rules over data the night passes in:
//! which reviewed cases tonight's queue passes over, the status of each
//! queued case (new, continuing, re-flagged), and the records the store
//! keeps of tonight's flags and suppressions.
//!
//! The nightly run only calls these with its cases, probabilities and queue;
//! every decision about the history is made here, where it is tested.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use polars::prelude::*;

use safeflag_review::schedule::{CaseTonight, ReReview, ReReviewPolicy, re_review};

use crate::store::SuppressionRecord;
use crate::{
    CaseState, Decision, FlagRecord, Result, Store, SuppressionPolicy, case_states, decide,
};

/// Tonight's review suppression.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Suppression {
    /// Cases to pass over: reviewed in the window, nothing material changed.
    pub cases: HashSet<String>,
    /// The date of the review that suppresses each of them.
    pub reviewed_on: HashMap<String, String>,
    /// Reviewed cases that are queued again, with what changed since.
    pub changed: HashMap<String, Vec<String>>,
    /// Cases with a review in the window.
    pub reviewed: usize,
    /// Reviewed cases whose re-review falls due tonight, with the day it fell due.
    pub re_review_due: HashMap<String, NaiveDate>,
}

/// The reviewed cases whose quarterly re-review falls due on `date`: the
/// latest review of each case on or before `date`, against the schedule,
/// with the case as tonight's snapshot shows it (out of home: a child was
/// removed; its youngest child's birth date). A case not in tonight's
/// snapshot is closed, and its re-reviews end.
pub fn due_reviews(
    store: &Store,
    date: NaiveDate,
    cases: &DataFrame,
    policy: &ReReviewPolicy,
) -> Result<HashMap<String, NaiveDate>> {
    let latest = store.latest_reviews(&date.to_string())?;
    if latest.is_empty() {
        return Ok(HashMap::new());
    }
    let wanted: HashSet<&str> = latest.iter().map(|(c, _)| c.as_str()).collect();
    let case = cases.column("case_id")?.str()?;
    let ty = cases.column("case_type")?.str()?;
    let born = cases.column("child_birth_date")?.cast(&DataType::Date)?;
    let born = born.date()?.physical();
    let mut tonight: HashMap<&str, CaseTonight> = HashMap::new();
    for i in 0..cases.height() {
        let Some(c) = case.get(i).filter(|c| wanted.contains(c)) else {
            continue;
        };
        let entry = tonight.entry(c).or_insert(CaseTonight {
            removed_since_review: false,
            youngest_birth: None,
        });
        entry.removed_since_review |= ty.get(i) == Some("out_of_home");
        let birth = born.get(i).and_then(|d| {
            NaiveDate::default().checked_add_signed(chrono::TimeDelta::days(d.into()))
        });
        entry.youngest_birth = entry.youngest_birth.max(birth);
    }
    let mut due = HashMap::new();
    for (c, reviewed) in &latest {
        let Ok(last) = reviewed.parse::<NaiveDate>() else {
            continue;
        };
        if let ReReview::Due { due_on } = re_review(last, date, tonight.get(c.as_str()), policy) {
            due.insert(c.clone(), due_on);
        }
    }
    Ok(due)
}

/// Decides tonight's suppression: each case reviewed in the `policy.days`
/// before `date` whose state tonight shows nothing material since the flag
/// the reviewer saw is passed over. A review with no earlier flag of ours
/// has nothing to compare against, so that case is queued as usual.
pub fn suppression(
    store: &Store,
    date: NaiveDate,
    policy: &SuppressionPolicy,
    cases: &DataFrame,
    probabilities: &[f64],
) -> Result<Suppression> {
    let tonight = date.to_string();
    let from = chrono::TimeDelta::try_days(policy.days)
        .and_then(|d| date.checked_sub_signed(d))
        .unwrap_or(NaiveDate::MIN)
        .to_string();
    let reviews = store.reviews_between(&from, &tonight)?;
    let ids: HashSet<String> = reviews.iter().map(|r| r.0.clone()).collect();
    let now = case_states(cases, probabilities, &ids)?;
    let mut out = Suppression {
        reviewed: ids.len(),
        ..Suppression::default()
    };
    for (case, review_date) in reviews {
        let Some(now) = now.get(&case) else { continue };
        let Some(before) = store.reviewed_state(&case, &review_date, &tonight)? else {
            continue;
        };
        match decide(&before, now, policy) {
            Decision::Suppress => {
                out.reviewed_on.insert(case.clone(), review_date);
                out.cases.insert(case);
            }
            Decision::Changed(changes) => {
                out.changed.insert(case, changes);
            }
        }
    }
    Ok(out)
}

/// A queued case's place in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagStatus {
    /// Never queued before.
    New,
    /// Queued in the last successful run before tonight too.
    Continuing,
    /// Queued before, but not last time (or queued again after a review
    /// because something material changed).
    Reflagged,
    /// Queued because its quarterly re-review fell due.
    ReReview,
}

impl FlagStatus {
    /// `new`, `continuing`, `re-flagged` or `re-review`, as the queue and the store spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagStatus::New => "new",
            FlagStatus::Continuing => "continuing",
            FlagStatus::Reflagged => "re-flagged",
            FlagStatus::ReReview => "re-review",
        }
    }
}

/// The status of each queued case, in the order given.
pub fn statuses(
    store: &Store,
    date: NaiveDate,
    queued: &[String],
    suppression: &Suppression,
) -> Result<Vec<FlagStatus>> {
    let tonight = date.to_string();
    let previous = match store.previous_run(&tonight)? {
        Some(run) => store.flagged_in(&run)?,
        None => HashSet::new(),
    };
    queued
        .iter()
        .map(|id| {
            Ok(if suppression.re_review_due.contains_key(id) {
                FlagStatus::ReReview
            } else if previous.contains(id) {
                FlagStatus::Continuing
            } else if suppression.changed.contains_key(id) || store.flagged_before(id, &tonight)? {
                FlagStatus::Reflagged
            } else {
                FlagStatus::New
            })
        })
        .collect()
}

/// The history's columns of tonight's queue, and the flag records the store
/// keeps of it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueHistory {
    /// Each queue row's status.
    pub status: Vec<FlagStatus>,
    /// What changed since a review, per queue row (empty when not reviewed).
    pub since_review: Vec<String>,
    /// One record per queue row; run id and date are filled in by
    /// [`QueueHistory::for_run`].
    pub flags: Vec<FlagRecord>,
}

/// The status and the flag record of every queued case. `queue` is the
/// queue as ranked (`case_id, child_id, office, rank, probability, band,
/// tier, reasons`), `cases` and `probabilities` tonight's scored rows.
pub fn queue_history(
    store: &Store,
    date: NaiveDate,
    suppression: &Suppression,
    queue: &DataFrame,
    cases: &DataFrame,
    probabilities: &[f64],
) -> Result<QueueHistory> {
    let s = |n: &str| -> Result<StringChunked> { Ok(queue.column(n)?.str()?.clone()) };
    let ids: Vec<String> = s("case_id")?
        .iter()
        .map(|c| c.unwrap_or_default().to_string())
        .collect();
    let status = statuses(store, date, &ids, suppression)?;
    let since: Vec<String> = ids
        .iter()
        .map(|id| match suppression.re_review_due.get(id) {
            Some(due) => format!("quarterly re-review due since {due}"),
            None => suppression
                .changed
                .get(id)
                .map(|c| c.join("; "))
                .unwrap_or_default(),
        })
        .collect();
    let wanted: HashSet<String> = ids.iter().cloned().collect();
    let states = case_states(cases, probabilities, &wanted)?;

    let (child, office, tier, reasons) = (s("child_id")?, s("office")?, s("tier")?, s("reasons")?);
    // The lead children's race/ethnicity group, for the measures by group.
    let leads: HashSet<&str> = child.iter().flatten().collect();
    let mut race_of: HashMap<&str, &str> = HashMap::new();
    if let (Ok(c), Ok(r)) = (
        cases.column("child_id"),
        cases.column("child_race_ethnicity"),
    ) {
        for (c, r) in c.str()?.iter().zip(r.str()?.iter()) {
            if let (Some(c), Some(r)) = (c, r)
                && leads.contains(c)
            {
                race_of.insert(c, r);
            }
        }
    }
    let prob = queue.column("probability")?.f64()?.clone();
    let band = queue.column("band")?.cast(&DataType::Int64)?;
    let band = band.i64()?;
    let rank = queue.column("rank")?.cast(&DataType::Int64)?;
    let rank = rank.i64()?;
    let flags = ids
        .iter()
        .enumerate()
        .map(|(i, id)| FlagRecord {
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
            status: status[i].as_str().to_string(),
            changes: since[i].clone(),
            state: states.get(id).cloned().unwrap_or(CaseState {
                probability: prob.get(i).unwrap_or(0.0),
                prior_reports: None,
                infants: Default::default(),
                unrelated_adult: None,
            }),
            race_ethnicity: child
                .get(i)
                .and_then(|c| race_of.get(c))
                .map(|r| r.to_string()),
        })
        .collect();
    Ok(QueueHistory {
        status,
        since_review: since,
        flags,
    })
}

impl QueueHistory {
    /// The queue's `status` column: `new`, `continuing` or `re-flagged`.
    pub fn status_column(&self) -> Vec<&'static str> {
        self.status.iter().map(|s| s.as_str()).collect()
    }

    /// Queued cases of one status.
    pub fn count(&self, status: FlagStatus) -> usize {
        self.status.iter().filter(|s| **s == status).count()
    }

    /// The flag records, stamped with the run they belong to.
    pub fn for_run(self, run_id: &str, run_date: &str) -> Vec<FlagRecord> {
        self.flags
            .into_iter()
            .map(|mut f| {
                f.run_id = run_id.to_string();
                f.run_date = run_date.to_string();
                f
            })
            .collect()
    }
}

/// The passed-over cases (`case_id, probability`, in rank order), each with
/// the date of the review that suppressed it.
pub fn suppression_records(
    suppressed: &DataFrame,
    suppression: &Suppression,
) -> Result<Vec<SuppressionRecord>> {
    let c = suppressed.column("case_id")?.str()?;
    let p = suppressed.column("probability")?.f64()?;
    Ok((0..suppressed.height())
        .map(|i| {
            let case = c.get(i).unwrap_or_default().to_string();
            SuppressionRecord {
                reviewed_on: suppression
                    .reviewed_on
                    .get(&case)
                    .cloned()
                    .unwrap_or_default(),
                probability: p.get(i).unwrap_or(0.0),
                case_id: case,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{flag, run};

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn record(store: &mut Store, id: &str, day: &str, cases: &[&str]) {
        let flags: Vec<FlagRecord> = cases.iter().map(|c| flag(id, day, c, 0.3)).collect();
        store.record_run(&run(id, day), &flags, &[]).unwrap();
    }

    /// Continuing: in the last run; re-flagged: queued before but not last
    /// time, or queued again after a review for a material change; new: never.
    #[test]
    fn each_status_follows_the_history() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("h.sqlite")).unwrap();
        record(&mut store, "r1", "2025-11-20", &["A", "B"]);
        record(&mut store, "r2", "2025-11-21", &["A"]);
        let mut s = Suppression::default();
        s.changed.insert("C".into(), vec!["new report".into()]);
        let ids: Vec<String> = ["A", "B", "C", "D"].map(String::from).to_vec();
        let got = statuses(&store, date("2025-11-22"), &ids, &s).unwrap();
        assert_eq!(
            got,
            [
                FlagStatus::Continuing,
                FlagStatus::Reflagged,
                FlagStatus::Reflagged,
                FlagStatus::New
            ]
        );
        // A rerun of a past night looks only at the runs before it.
        let got = statuses(&store, date("2025-11-21"), &ids, &Suppression::default()).unwrap();
        assert_eq!(
            got,
            [
                FlagStatus::Continuing,
                FlagStatus::Continuing,
                FlagStatus::New,
                FlagStatus::New
            ]
        );
    }

    /// A huge window does not overflow the date arithmetic.
    #[test]
    fn a_window_before_the_calendar_starts_reads_every_review() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("h.sqlite")).unwrap();
        let policy = SuppressionPolicy {
            days: i64::MAX / 2,
            ..SuppressionPolicy::default()
        };
        let empty = DataFrame::empty();
        let s = suppression(&store, date("2025-11-22"), &policy, &empty, &[]).unwrap();
        assert!(s.cases.is_empty());
    }
}
