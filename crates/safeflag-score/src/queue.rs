//! From scored children to the nightly queue: case level, ranked, capacity-limited.
//!
//! A flood of alerts ended one state's program; so the queue is short by
//! construction. Cases, not children, are queued: a case appears once, led by
//! its highest-risk child, with its other children listed. Ranking is total
//! and deterministic (probability descending, then `case_id`, then
//! `child_id`), so a rerun gives the same queue byte for byte.

use std::collections::{BTreeMap, HashSet};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How many cases go in tonight's queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueuePolicy {
    /// At most this many cases overall.
    pub top_n: Option<usize>,
    /// At most this share of scored cases (0-1).
    pub top_fraction: Option<f64>,
    /// Only cases whose lead child's probability is at least this.
    pub threshold: Option<f64>,
    /// At most this many cases per office (reviewer capacity), unless overridden below.
    pub office_capacity: Option<usize>,
    /// Per-office capacities that override `office_capacity`.
    pub office_capacities: BTreeMap<String, usize>,
}

/// The queue size used when no policy is given at all.
pub const DEFAULT_TOP_N: usize = 50;

impl QueuePolicy {
    /// Applies the default (`top_n = 50`) when no limit of any kind is set.
    pub fn or_default(mut self) -> QueuePolicy {
        if self.top_n.is_none()
            && self.top_fraction.is_none()
            && self.threshold.is_none()
            && self.office_capacity.is_none()
            && self.office_capacities.is_empty()
        {
            self.top_n = Some(DEFAULT_TOP_N);
        }
        self
    }

    /// Checks the policy, the same way whether it came from flags or from the
    /// config file: every limit must let at least one case through, and every
    /// share and probability must be one.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Policy(m));
        if self.top_n == Some(0) {
            return bad("`top` must be at least 1".into());
        }
        if let Some(f) = self.top_fraction
            && !(f > 0.0 && f <= 1.0)
        {
            return bad(format!(
                "`top-percent` = {} is not above 0 and at most 100",
                f * 100.0
            ));
        }
        if let Some(t) = self.threshold
            && !(0.0..=1.0).contains(&t)
        {
            return bad(format!("`threshold` = {t} is not between 0 and 1"));
        }
        if self.office_capacity == Some(0) {
            return bad("`office-capacity` must be at least 1".into());
        }
        if let Some((office, _)) = self.office_capacities.iter().find(|(_, c)| **c == 0) {
            return bad(format!(
                "the capacity of office `{office}` must be at least 1"
            ));
        }
        if let Some(office) = self.office_capacities.keys().find(|o| o.trim().is_empty()) {
            return bad(format!("a capacity names an empty office (`{office}`)"));
        }
        Ok(())
    }

    /// Checks the per-office capacities against tonight's offices: a name
    /// that matches an office only when case and spaces are ignored is a
    /// typo (refused: the real office would silently get the default); a
    /// name matching no office at all is returned, to be warned about (that
    /// office may have no cases tonight).
    pub fn check_offices<'a>(
        &'a self,
        offices: &std::collections::BTreeSet<&str>,
    ) -> Result<Vec<&'a str>> {
        let fold = |s: &str| s.trim().to_lowercase();
        let mut absent = Vec::new();
        for name in self.office_capacities.keys() {
            if offices.contains(name.as_str()) {
                continue;
            }
            if let Some(real) = offices.iter().find(|o| fold(o) == fold(name)) {
                return Err(Error::Policy(format!(
                    "a capacity names office `{name}`, but tonight's snapshot spells it `{real}`"
                )));
            }
            absent.push(name.as_str());
        }
        Ok(absent)
    }

    /// The capacity of `office`: its own, else the default per office, else none.
    pub fn capacity_of(&self, office: &str) -> Option<usize> {
        self.office_capacities
            .get(office)
            .copied()
            .or(self.office_capacity)
    }
}

/// Sorts scored rows into the canonical order: probability descending, then
/// `case_id`, then `child_id` (all ascending). `scores` must hold those columns.
pub fn rank_rows(scores: &DataFrame) -> Result<DataFrame> {
    Ok(scores
        .clone()
        .lazy()
        .sort(
            ["probability", "case_id", "child_id"],
            SortMultipleOptions::default()
                .with_order_descending_multi([true, false, false])
                .with_maintain_order(true),
        )
        .collect()?)
}

/// The queued leads (row positions into `ranked`), and whether every row of
/// `ranked` was examined without a limit or the threshold stopping the walk
/// (then rows ranked below `ranked`'s last could still have been queued).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Row positions of the queued lead children, in rank order.
    pub leads: Vec<usize>,
    /// The walk reached the end of `ranked` without a limit stopping it.
    pub exhausted: bool,
    /// Lead rows of suppressed cases the walk passed over (they would have
    /// been considered for the queue), in rank order.
    pub suppressed: Vec<usize>,
}

/// Cases tonight's queue holds whatever their score: their quarterly
/// re-review falls due (`safeflag_review::schedule`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueReviews {
    /// The cases.
    pub cases: HashSet<String>,
    /// Whether they take their office's capacity and count toward the queue's
    /// size, or come on top of tonight's flags.
    pub use_capacity: bool,
}

/// The lead row of each case, in rank order, cut down by the policy.
/// `n_cases` is the number of cases scored (for `top_fraction`). Cases in
/// `suppressed` are passed over without using any capacity, so the room they
/// leave goes to the next cases; the ones passed over are reported.
pub fn select_cases(
    ranked: &DataFrame,
    policy: &QueuePolicy,
    n_cases: usize,
    suppressed: &HashSet<String>,
    due: &DueReviews,
) -> Result<Selection> {
    let firsts = ranked
        .clone()
        .lazy()
        .select([col("case_id").is_first_distinct().alias("lead")])
        .collect()?;
    let lead = firsts.column("lead")?.bool()?.clone();
    let office = ranked.column("office")?.str()?.clone();
    let prob = ranked.column("probability")?.f64()?.clone();
    let case = ranked.column("case_id")?.str()?.clone();
    let mut limit = policy.top_n.unwrap_or(usize::MAX);
    if let Some(f) = policy.top_fraction {
        if !(0.0..=1.0).contains(&f) {
            return Err(Error::Policy(format!(
                "top fraction {f} is not between 0 and 1"
            )));
        }
        limit = limit.min((n_cases as f64 * f).ceil() as usize);
    }
    let mut taken: BTreeMap<&str, usize> = BTreeMap::new();
    // Re-reviews due tonight first, whatever their score: with
    // `use_capacity` they take their office's room and the queue's.
    let mut forced = Vec::new();
    if !due.cases.is_empty() {
        for i in 0..ranked.height() {
            if lead.get(i) == Some(true) && due.cases.contains(case.get(i).unwrap_or_default()) {
                forced.push(i);
                if due.use_capacity {
                    *taken.entry(office.get(i).unwrap_or_default()).or_default() += 1;
                }
            }
        }
    }
    let counted = if due.use_capacity { forced.len() } else { 0 };
    let done = |mut out: Vec<usize>, exhausted: bool, passed: Vec<usize>| {
        out.extend(&forced);
        out.sort_unstable();
        Selection {
            leads: out,
            exhausted,
            suppressed: passed,
        }
    };
    let mut out = Vec::new();
    let mut passed = Vec::new();
    for i in 0..ranked.height() {
        if out.len() + counted >= limit {
            return Ok(done(out, false, passed));
        }
        if lead.get(i) != Some(true) {
            continue;
        }
        let p = prob.get(i).unwrap_or(0.0);
        if policy.threshold.is_some_and(|t| p < t) {
            return Ok(done(out, false, passed));
        }
        if forced.binary_search(&i).is_ok() {
            continue;
        }
        if !suppressed.is_empty() && suppressed.contains(case.get(i).unwrap_or_default()) {
            passed.push(i);
            continue;
        }
        let o = office.get(i).unwrap_or_default();
        if let Some(cap) = policy.capacity_of(o) {
            let n = taken.entry(o).or_default();
            if *n >= cap {
                continue;
            }
            *n += 1;
        }
        out.push(i);
    }
    let exhausted = out.len() + counted < limit;
    Ok(done(out, exhausted, passed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A capacity for `northside` when the office is `Northside` is a typo
    /// and refused; one for an office with no cases tonight is reported.
    #[test]
    fn capacity_offices_are_checked_against_tonights() {
        let offices: std::collections::BTreeSet<&str> = ["Northside", "Eastgate"].into();
        let policy = |name: &str| QueuePolicy {
            office_capacities: [(name.to_string(), 3)].into(),
            ..QueuePolicy::default()
        };
        assert!(
            policy("Northside")
                .check_offices(&offices)
                .unwrap()
                .is_empty()
        );
        let err = policy(" northside")
            .check_offices(&offices)
            .unwrap_err()
            .to_string();
        assert!(err.contains("spells it `Northside`"), "{err}");
        assert_eq!(
            policy("Westfield").check_offices(&offices).unwrap(),
            vec!["Westfield"]
        );
    }

    fn scores() -> DataFrame {
        df!(
            "case_id" => ["C2", "C1", "C1", "C3", "C4", "C5", "C6"],
            "child_id" => ["K2", "K1b", "K1a", "K3", "K4", "K5", "K6"],
            "office" => ["North", "North", "North", "South", "North", "South", "North"],
            "probability" => [0.30, 0.30, 0.10, 0.30, 0.50, 0.05, 0.20],
        )
        .unwrap()
    }

    fn queued(policy: QueuePolicy) -> Vec<String> {
        with_due(policy, &[], false, &[])
    }

    #[test]
    fn ties_order_by_case_then_child() {
        let ranked = rank_rows(&scores()).unwrap();
        let ids: Vec<_> = ranked
            .column("child_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|s| s.unwrap().to_string())
            .collect();
        assert_eq!(ids, vec!["K4", "K1b", "K2", "K3", "K6", "K1a", "K5"]);
    }

    #[test]
    fn cases_appear_once_led_by_their_highest_child() {
        let all = queued(QueuePolicy {
            top_n: Some(100),
            ..QueuePolicy::default()
        });
        assert_eq!(all, vec!["C4", "C1", "C2", "C3", "C6", "C5"]);
    }

    #[test]
    fn limits() {
        assert_eq!(
            queued(QueuePolicy {
                top_n: Some(2),
                ..QueuePolicy::default()
            }),
            vec!["C4", "C1"]
        );
        assert_eq!(
            queued(QueuePolicy {
                threshold: Some(0.3),
                ..QueuePolicy::default()
            }),
            vec!["C4", "C1", "C2", "C3"]
        );
        // 6 cases, a third -> 2.
        assert_eq!(
            queued(QueuePolicy {
                top_fraction: Some(1.0 / 3.0),
                ..QueuePolicy::default()
            }),
            vec!["C4", "C1"]
        );
        assert_eq!(queued(QueuePolicy::default().or_default()).len(), 6);
    }

    fn with_due(
        policy: QueuePolicy,
        due: &[&str],
        use_capacity: bool,
        suppressed: &[&str],
    ) -> Vec<String> {
        let ranked = rank_rows(&scores()).unwrap();
        let due = DueReviews {
            cases: due.iter().map(|c| c.to_string()).collect(),
            use_capacity,
        };
        let suppressed: HashSet<String> = suppressed.iter().map(|c| c.to_string()).collect();
        let rows = select_cases(&ranked, &policy, 6, &suppressed, &due)
            .unwrap()
            .leads;
        let c = ranked.column("case_id").unwrap().str().unwrap();
        rows.iter()
            .map(|&i| c.get(i).unwrap().to_string())
            .collect()
    }

    /// A re-review falling due is queued whatever its score, in rank order;
    /// with `use_capacity` it takes its office's room and the queue's.
    #[test]
    fn due_re_reviews_are_queued_whatever_their_score() {
        let top2 = QueuePolicy {
            top_n: Some(2),
            ..QueuePolicy::default()
        };
        assert_eq!(
            with_due(top2.clone(), &["C5"], false, &[]),
            ["C4", "C1", "C5"]
        );
        assert_eq!(with_due(top2.clone(), &["C5"], true, &[]), ["C4", "C5"]);
        let south1 = QueuePolicy {
            office_capacities: [("South".to_string(), 1)].into(),
            ..QueuePolicy::default()
        };
        assert_eq!(
            with_due(south1.clone(), &["C5"], true, &[]),
            ["C4", "C1", "C2", "C6", "C5"],
            "C3 finds South's one place taken"
        );
        assert_eq!(
            with_due(south1, &["C5"], false, &[]),
            ["C4", "C1", "C2", "C3", "C6", "C5"]
        );
        let threshold = QueuePolicy {
            threshold: Some(0.4),
            ..QueuePolicy::default()
        };
        assert_eq!(with_due(threshold, &["C5"], true, &[]), ["C4", "C5"]);
        // Due and suppressed: the re-review wins.
        let top1 = QueuePolicy {
            top_n: Some(1),
            ..QueuePolicy::default()
        };
        assert_eq!(with_due(top1, &["C4"], false, &["C4"]), ["C4", "C1"]);
        // A due case not scored tonight is simply absent.
        assert_eq!(with_due(top2, &["C9"], true, &[]), ["C4", "C1"]);
    }

    #[test]
    fn office_capacity_is_respected_and_frees_room_for_others() {
        let q = queued(QueuePolicy {
            office_capacity: Some(1),
            ..QueuePolicy::default()
        });
        assert_eq!(q, vec!["C4", "C3"]);
        let mut caps = BTreeMap::new();
        caps.insert("North".to_string(), 2);
        let q = queued(QueuePolicy {
            office_capacity: Some(0),
            office_capacities: caps,
            ..QueuePolicy::default()
        });
        assert_eq!(q, vec!["C4", "C1"]);
        let q = queued(QueuePolicy {
            office_capacity: Some(1),
            top_n: Some(1),
            ..QueuePolicy::default()
        });
        assert_eq!(q, vec!["C4"]);
    }

    #[test]
    fn suppressed_cases_use_no_capacity_and_are_reported() {
        let ranked = rank_rows(&scores()).unwrap();
        let policy = QueuePolicy {
            top_n: Some(2),
            office_capacity: Some(1),
            ..QueuePolicy::default()
        };
        let suppressed: HashSet<String> = ["C4".to_string()].into();
        let sel = select_cases(&ranked, &policy, 6, &suppressed, &DueReviews::default()).unwrap();
        let c = ranked.column("case_id").unwrap().str().unwrap();
        let ids =
            |rows: &[usize]| -> Vec<&str> { rows.iter().map(|&i| c.get(i).unwrap()).collect() };
        // C4 (North) is passed over, so North's one place goes to C1.
        assert_eq!(ids(&sel.leads), vec!["C1", "C3"]);
        assert_eq!(ids(&sel.suppressed), vec!["C4"]);
    }
}
