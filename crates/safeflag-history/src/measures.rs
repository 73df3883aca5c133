//! Practice measures: what an RSF-style program reports about its reviews.
//!
//! The score only picks the cases; a program is judged by what happens
//! next: were flagged cases reviewed on time, were the worker and supervisor
//! consulted within the deadline, were the agreed actions done by their due
//! date, and who overrides the flags. Each measure is counted from the
//! history's records over a window of nights, with deadlines in business
//! days ([`safeflag_review::calendar::Calendar`]).
//!
//! Definitions (also in `docs/review.md`):
//! - a *flag* is a case entering the queue on a night of the window (status
//!   `new` or `re-flagged`; a `continuing` case is the same episode);
//! - it is *reviewed* when a review of the case is dated on or after that
//!   night, up to the day the measures are taken (`as_of`); *on time* when
//!   the first such review is dated by the review deadline (`review_days`
//!   business days after the night); *pending* when it is not reviewed and
//!   its deadline has not passed by `as_of`;
//! - a review's *consultation* is on time when it is dated by the
//!   consultation deadline counted from the case's latest flag night on or
//!   before the review (`consultation_days` business days);
//! - consultations and overrides are counted over the reviews dated from
//!   the window's first night to `as_of`;
//! - an action item is counted at its latest version: open, overdue (open
//!   and due before `as_of`), done on time (completed by its due date), done
//!   late, or dropped;
//! - overrides are reviews whose disposition is `override`, by reviewer and
//!   by the office of the case's latest flag on or before the review;
//! - item ratings are counted over the workbook reviews (latest version
//!   each) dated from the window's first night to `as_of`, by office and by
//!   month; and, for each item, how its rating moved from one review of a
//!   case to the next (`area_needing_improvement -> strength`: improved at
//!   re-review), whatever the instrument's scale.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rusqlite::params;
use safeflag_review::calendar::Calendar;
use safeflag_review::measures::QueueNight;

use crate::{Result, Store};

/// The window and the deadlines.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureOptions {
    /// The first night counted.
    pub from: NaiveDate,
    /// The last night whose flags are counted.
    pub to: NaiveDate,
    /// The day the measures are taken: reviews up to it count, actions
    /// due before it and still open are overdue.
    pub as_of: NaiveDate,
    /// Business days from a flag to its review.
    pub review_days: u32,
    /// Business days from a flag to the consultation.
    pub consultation_days: u32,
    /// Weekends and holidays.
    pub calendar: Calendar,
    /// The share of each month's reviewed cases chosen for a second review.
    pub second_review_share: f64,
}

/// Days after a first review in which another reviewer's review of the
/// case counts as its second review.
pub const SECOND_REVIEW_DAYS: u64 = 30;

/// Whether a case's reviews of a month (`YYYY-MM`) are in the second-review
/// sample: the first 8 bytes of sha256(`case|month`), as a fraction of 2^64,
/// below `share`. Reproducible by anyone with the case id, and independent
/// of the order reviews arrive in.
pub fn in_second_review_sample(case_id: &str, month: &str, share: f64) -> bool {
    let hex = safeflag_core::output::sha256_bytes(format!("{case_id}|{month}").as_bytes());
    let top = u64::from_str_radix(&hex[..16], 16).unwrap_or(u64::MAX);
    (top as f64) < share * 18_446_744_073_709_551_616.0
}

pub use safeflag_review::measures::{
    ActionCounts, ConsultationCounts, Counts3, FlagCounts, OverrideCounts, PracticeMeasures,
    SecondReviews,
};

/// A case's latest flag on or before a day: its night and office.
type FlagBefore<'a> = dyn Fn(&str, NaiveDate) -> Option<(NaiveDate, &'a str, &'a str)> + 'a;

fn day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

impl Store {
    /// Each office's queue on each published night from `from` to `to`
    /// (`YYYY-MM-DD`, inclusive), nights in order, offices by name.
    pub fn queue_over_time(&self, from: &str, to: &str) -> Result<Vec<QueueNight>> {
        let mut nights: BTreeMap<(String, String), QueueNight> = BTreeMap::new();
        let flags: Vec<(String, String, String)> = self.rows(
            "SELECT f.run_date, f.office, f.status FROM flags f
             JOIN runs r ON r.run_id = f.run_id
             WHERE r.status = 'ok' AND f.run_date BETWEEN ?1 AND ?2",
            params![from, to],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        for (night, office, status) in flags {
            nights
                .entry((night.clone(), office.clone()))
                .or_insert_with(|| QueueNight::of(&night, &office))
                .add(&status);
        }
        // A suppressed case is counted under the office of its latest flag
        // up to that night.
        let suppressed: Vec<(String, String)> = self.rows(
            "SELECT r.run_date, COALESCE((SELECT f.office FROM flags f
                 WHERE f.case_id = s.case_id AND f.run_date <= r.run_date
                 ORDER BY f.run_date DESC LIMIT 1), '(unknown)')
             FROM suppressions s JOIN runs r ON r.run_id = s.run_id
             WHERE r.status = 'ok' AND r.run_date BETWEEN ?1 AND ?2",
            params![from, to],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        for (night, office) in suppressed {
            nights
                .entry((night.clone(), office.clone()))
                .or_insert_with(|| QueueNight::of(&night, &office))
                .suppressed += 1;
        }
        Ok(nights.into_values().collect())
    }

    /// The practice measures over the window of `o`.
    pub fn practice_measures(&self, o: &MeasureOptions) -> Result<PracticeMeasures> {
        let (from, to, as_of) = (o.from.to_string(), o.to.to_string(), o.as_of.to_string());
        // Every flag of a published run up to the day of the measures:
        // (case, night, office, status). Those after the window's last night
        // still say which flag a later review answers.
        let flags: Vec<(String, String, String, String, Option<String>)> = self.rows(
            "SELECT f.case_id, f.run_date, f.office, f.status, f.race_ethnicity FROM flags f
             JOIN runs r ON r.run_id = f.run_id
             WHERE r.status = 'ok' AND f.run_date <= ?1
             ORDER BY f.case_id, f.run_date",
            params![as_of],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
        let mut nights: BTreeMap<&str, Vec<(NaiveDate, &str, &str)>> = BTreeMap::new();
        for (case, night, office, _, group) in &flags {
            if let Some(d) = day(night) {
                let group = group.as_deref().unwrap_or("(missing)");
                nights.entry(case).or_default().push((d, office, group));
            }
        }
        // The latest flag of a case on or before a day: its night and office.
        let flag_before = |case: &str, d: NaiveDate| -> Option<(NaiveDate, &str, &str)> {
            nights
                .get(case)?
                .iter()
                .rev()
                .find(|(n, ..)| *n <= d)
                .copied()
        };
        // Every review up to the day of the measures (CSV and workbooks alike).
        let reviews: Vec<(String, String, String, String)> = self.rows(
            "SELECT case_id, review_date, reviewer, outcome FROM reviews
             WHERE review_date <= ?1 ORDER BY case_id, review_date",
            params![as_of],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let mut reviewed_on: BTreeMap<&str, Vec<NaiveDate>> = BTreeMap::new();
        for (case, date, _, _) in &reviews {
            if let Some(d) = day(date) {
                reviewed_on.entry(case).or_default().push(d);
            }
        }

        let mut m = PracticeMeasures {
            from: from.clone(),
            to: to.clone(),
            as_of: as_of.clone(),
            ..PracticeMeasures::default()
        };
        for (case, night, office, status, _) in &flags {
            let Some(n) = day(night) else { continue };
            if n < o.from || n > o.to || !(status == "new" || status == "re-flagged") {
                continue;
            }
            let first = reviewed_on
                .get(case.as_str())
                .and_then(|ds| ds.iter().find(|d| **d >= n));
            let on_time = first.is_some_and(|d| o.calendar.on_time(n, *d, o.review_days));
            let pending = first.is_none() && o.calendar.on_time(n, o.as_of, o.review_days);
            for c in [
                &mut m.flags,
                m.flags_by_office.entry(office.clone()).or_default(),
            ] {
                c.flagged += 1;
                c.reviewed += usize::from(first.is_some());
                c.reviewed_on_time += usize::from(on_time);
                c.pending += usize::from(pending);
            }
        }

        // Consultations: the latest version of each workbook review in the window.
        let consultations: Vec<(String, String, Option<String>)> = self.rows(
            "SELECT v.case_id, v.review_date, v.consultation_date FROM review_versions v
             WHERE v.review_date >= ?1 AND v.review_date <= ?2
               AND v.version = (SELECT MAX(w.version) FROM review_versions w
                                WHERE w.case_id = v.case_id AND w.review_date = v.review_date
                                  AND w.reviewer = v.reviewer)",
            params![from, as_of],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        for (case, date, consulted) in &consultations {
            m.consultations.reviews += 1;
            let Some(c) = consulted.as_deref().and_then(day) else {
                continue;
            };
            m.consultations.consulted += 1;
            let within = day(date)
                .and_then(|d| flag_before(case, d))
                .is_some_and(|(n, ..)| o.calendar.on_time(n, c, o.consultation_days));
            m.consultations.within_deadline += usize::from(within);
        }

        // Action items at their latest version.
        let actions: Vec<(String, String, Option<String>)> = self.rows(
            "SELECT a.status, a.due_date, a.completed_on FROM action_versions a
             WHERE a.version = (SELECT MAX(b.version) FROM action_versions b
                                WHERE b.case_id = a.case_id AND b.action = a.action)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        for (status, due, completed) in &actions {
            let a = &mut m.actions;
            a.total += 1;
            let due = day(due);
            match status.as_str() {
                "open" => {
                    a.open += 1;
                    a.overdue += usize::from(due.is_some_and(|d| d < o.as_of));
                }
                "done" => {
                    let on_time = matches!(
                        (completed.as_deref().and_then(day), due),
                        (Some(c), Some(d)) if c <= d
                    );
                    a.done_on_time += usize::from(on_time);
                    a.done_late += usize::from(!on_time);
                }
                _ => a.dropped += 1,
            }
        }

        // Overrides by reviewer and office.
        for (case, date, reviewer, outcome) in &reviews {
            let Some(d) = day(date).filter(|d| *d >= o.from) else {
                continue;
            };
            let (office, group) = flag_before(case, d)
                .map_or(("(no flag)", "(no flag)"), |(_, office, group)| {
                    (office, group)
                });
            let is_override = usize::from(outcome == "override");
            for c in [
                &mut m.overrides,
                m.overrides_by_reviewer.entry(reviewer.clone()).or_default(),
                m.overrides_by_office.entry(office.to_string()).or_default(),
                m.overrides_by_group.entry(group.to_string()).or_default(),
            ] {
                c.reviews += 1;
                c.overrides += is_override;
            }
        }
        self.ratings(o, &flag_before, &mut m)?;
        m.second_reviews = self.second_reviews(o, &reviews)?;
        Ok(m)
    }

    /// The second-review sample: first reviews dated from `from` to
    /// `as_of` whose case and month are sampled, each with its second review
    /// (the earliest by another reviewer within [`SECOND_REVIEW_DAYS`]) and
    /// their agreement. `reviews` is every review up to `as_of`, by case and date.
    fn second_reviews(
        &self,
        o: &MeasureOptions,
        reviews: &[(String, String, String, String)],
    ) -> Result<SecondReviews> {
        let mut out = SecondReviews {
            share: o.second_review_share,
            ..SecondReviews::default()
        };
        let ratings =
            |case: &str, date: &str, reviewer: &str| -> Result<BTreeMap<String, String>> {
                Ok(self
                    .rows(
                        "SELECT item_id, rating FROM review_ratings r
                     WHERE case_id = ?1 AND review_date = ?2 AND reviewer = ?3
                       AND version = (SELECT MAX(version) FROM review_versions w
                                      WHERE w.case_id = r.case_id AND w.review_date = r.review_date
                                        AND w.reviewer = r.reviewer)",
                        params![case, date, reviewer],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?
                    .into_iter()
                    .collect())
            };
        // A review that is some other review's second is not a first one.
        let mut seconds: std::collections::BTreeSet<(&str, &str, &str)> = Default::default();
        for (k, (case, date, reviewer, outcome)) in reviews.iter().enumerate() {
            let Some(d) = day(date).filter(|d| *d >= o.from) else {
                continue;
            };
            if seconds.contains(&(case.as_str(), date.as_str(), reviewer.as_str()))
                || !in_second_review_sample(case, &date[..7], o.second_review_share)
            {
                continue;
            }
            // The first review of the case by this reviewer in the month.
            let earlier_same = reviews[..k]
                .iter()
                .any(|r| &r.0 == case && &r.2 == reviewer && r.1[..7] == date[..7]);
            if earlier_same {
                continue;
            }
            out.sampled += 1;
            let until = d + chrono::Days::new(SECOND_REVIEW_DAYS);
            let second = reviews[k + 1..].iter().find(|r| {
                &r.0 == case && &r.2 != reviewer && day(&r.1).is_some_and(|x| x >= d && x <= until)
            });
            let Some((_, date2, reviewer2, outcome2)) = second else {
                out.waiting
                    .push((case.clone(), date.clone(), reviewer.clone()));
                continue;
            };
            seconds.insert((case.as_str(), date2.as_str(), reviewer2.as_str()));
            out.second_done += 1;
            out.same_disposition += usize::from(outcome == outcome2);
            let (a, b) = (
                ratings(case, date, reviewer)?,
                ratings(case, date2, reviewer2)?,
            );
            for (item, rating) in &a {
                if let Some(other) = b.get(item) {
                    out.items_compared += 1;
                    out.items_agreed += usize::from(rating == other);
                }
            }
        }
        Ok(out)
    }

    /// The item-rating measures, into `m`.
    fn ratings<'a>(
        &self,
        o: &MeasureOptions,
        flag_before: &FlagBefore<'a>,
        m: &mut PracticeMeasures,
    ) -> Result<()> {
        // (case, date, reviewer, item, rating) of the latest version of
        // each review, in case and date order.
        let rows: Vec<(String, String, String, String, String)> = self.rows(
            "SELECT r.case_id, r.review_date, r.reviewer, r.item_id, r.rating
             FROM review_ratings r
             WHERE r.review_date >= ?1 AND r.review_date <= ?2
               AND r.version = (SELECT MAX(w.version) FROM review_versions w
                                WHERE w.case_id = r.case_id AND w.review_date = r.review_date
                                  AND w.reviewer = r.reviewer)
             ORDER BY r.case_id, r.review_date, r.reviewer, r.item_id",
            params![o.from.to_string(), o.as_of.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
        // The last rating of each (case, item) seen so far, with its date.
        let mut last: BTreeMap<(&str, &str), (&str, &str)> = BTreeMap::new();
        for (case, date, _, item, rating) in &rows {
            let Some(d) = day(date) else { continue };
            let office = flag_before(case, d).map_or("(no flag)", |(_, office, _)| office);
            for counts in [
                m.ratings_by_office.entry(office.to_string()).or_default(),
                m.ratings_by_month.entry(date[..7].to_string()).or_default(),
            ] {
                *counts
                    .entry(item.clone())
                    .or_default()
                    .entry(rating.clone())
                    .or_default() += 1;
            }
            if let Some((before_date, before)) = last.get(&(case.as_str(), item.as_str()))
                && *before_date < date.as_str()
            {
                *m.rating_changes
                    .entry(item.clone())
                    .or_default()
                    .entry(format!("{before} -> {rating}"))
                    .or_default() += 1;
            }
            last.insert((case, item), (date, rating));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::{Datelike, Days, Weekday};
    use safeflag_review::returned::{ActionItem, Provenance, Returned, WorkbookReview};

    use super::*;
    use crate::store::tests::{flag, run};
    use crate::{FlagRecord, RunRecord};

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// The n-th business day after `start`, counted here on its own.
    fn deadline(start: NaiveDate, n: u32, holidays: &[NaiveDate]) -> NaiveDate {
        let mut k = 0;
        let mut day = start;
        while k < n {
            day = day.succ_opt().unwrap();
            let weekend = day.weekday() == Weekday::Sat || day.weekday() == Weekday::Sun;
            if !weekend && !holidays.contains(&day) {
                k += 1;
            }
        }
        day
    }

    /// A month's sample for a second review, and agreement, on a history
    /// built so that each case's answers are known: cases with an even
    /// number get a second review by R2 six days later, agreeing on the
    /// disposition when the number is a multiple of 4 and on item `b` when
    /// it is not a multiple of 8 (item `a` always agrees).
    #[test]
    fn a_monthly_sample_gets_a_second_review_and_agreement_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("h.sqlite")).unwrap();
        let night = d("2025-11-03");
        let cases: Vec<String> = (0..40).map(|k| format!("C{k:02}")).collect();
        let flags: Vec<FlagRecord> = cases
            .iter()
            .map(|c| FlagRecord {
                office: "X".into(),
                ..flag("r1", &night.to_string(), c, 0.3)
            })
            .collect();
        let run = run("r1", &night.to_string());
        store.record_run(&run, &flags, &[]).unwrap();
        let review = |c: &str, who: &str, day: &str, disposition: &str, b: &str| WorkbookReview {
            case_id: c.into(),
            reviewer: who.into(),
            review_date: d(day),
            disposition: disposition.into(),
            override_reason: None,
            consultation_date: None,
            attendees: None,
            ratings: [("a", "strength"), ("b", b)]
                .map(|(i, r)| (i.to_string(), r.to_string()))
                .into(),
            factors: BTreeMap::new(),
        };
        let mut reviews = Vec::new();
        for (k, c) in cases.iter().enumerate() {
            reviews.push(review(c, "R1", "2025-11-04", "coached", "strength"));
            if k % 2 == 0 {
                let disposition = if k % 4 == 0 { "coached" } else { "escalated" };
                let b = if k % 8 == 0 {
                    "area_needing_improvement"
                } else {
                    "strength"
                };
                reviews.push(review(c, "R2", "2025-11-10", disposition, b));
            }
        }
        let returned = Returned {
            provenance: Provenance {
                queue_sha256: "q".into(),
                by: "office".into(),
                recipient: "X".into(),
                instrument: "t@1".into(),
            },
            reviews,
            actions: Vec::new(),
        };
        store.record_workbook(&returned, "wb", "sha").unwrap();
        let measure = |share: f64| {
            store
                .practice_measures(&MeasureOptions {
                    from: night,
                    to: night,
                    as_of: d("2025-12-31"),
                    review_days: 1,
                    consultation_days: 1,
                    calendar: Calendar::default(),
                    second_review_share: share,
                })
                .unwrap()
                .second_reviews
        };
        assert_eq!(measure(0.0).sampled, 0);
        let all = measure(1.0);
        assert_eq!(
            (all.sampled, all.second_done, all.same_disposition),
            (40, 20, 10)
        );
        assert_eq!((all.items_compared, all.items_agreed), (40, 35));
        assert_eq!(all.waiting.len(), 20);

        let half = measure(0.5);
        let sampled: Vec<usize> = (0..40)
            .filter(|&k| in_second_review_sample(&cases[k], "2025-11", 0.5))
            .collect();
        assert!(sampled.len() > 5 && sampled.len() < 35, "{}", sampled.len());
        let even: Vec<usize> = sampled.iter().copied().filter(|k| k % 2 == 0).collect();
        assert_eq!(half.sampled, sampled.len());
        assert_eq!(half.second_done, even.len());
        assert_eq!(
            half.same_disposition,
            even.iter().filter(|k| *k % 4 == 0).count()
        );
        assert_eq!(half.items_compared, 2 * even.len());
        assert_eq!(
            half.items_agreed,
            2 * even.len() - even.iter().filter(|k| *k % 8 == 0).count()
        );
        let waiting: Vec<String> = sampled
            .iter()
            .filter(|k| *k % 2 == 1)
            .map(|&k| cases[k].clone())
            .collect();
        assert_eq!(
            half.waiting.iter().map(|w| w.0.clone()).collect::<Vec<_>>(),
            waiting
        );
    }

    /// Four months of nights: flags, reviews (with consultations and
    /// overrides) and action items drawn at random and recorded through the
    /// store's own calls; every measure is then counted again here, from
    /// what was drawn.
    #[test]
    fn measures_on_a_generated_history_match_counts_made_independently() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("h.sqlite")).unwrap();
        let holidays = [d("2025-11-27"), d("2025-12-25"), d("2026-01-01")];
        let mut rng = Rng(7);
        let offices = ["North", "South", "West"];
        let start = d("2025-09-01");
        // What was drawn: flags (case, night, office, status), reviews
        // (case, date, reviewer, disposition, consultation), actions.
        let mut flags: Vec<(String, NaiveDate, String, String, String)> = Vec::new();
        let groups = ["A", "B", "C"];
        let mut reviews: Vec<(String, NaiveDate, String, String, Option<NaiveDate>)> = Vec::new();
        let mut rated: Vec<(String, NaiveDate, BTreeMap<String, String>)> = Vec::new();
        let scale = ["strength", "area_needing_improvement", "not_applicable"];
        let mut actions: Vec<(String, NaiveDate, String, Option<NaiveDate>)> = Vec::new();
        let mut queued_last: BTreeSet<String> = BTreeSet::new();
        let mut ever: Vec<(String, String)> = Vec::new();
        for night_n in 0..120u64 {
            let night = start + Days::new(night_n);
            let mut recs = Vec::new();
            let mut tonight = BTreeSet::new();
            let mut push = |case: String,
                            office: String,
                            status: &str,
                            recs: &mut Vec<FlagRecord>,
                            tonight: &mut BTreeSet<String>| {
                // A group per case, the same every night.
                let group = groups[case.bytes().map(usize::from).sum::<usize>() % 3];
                recs.push(FlagRecord {
                    office: office.clone(),
                    status: status.into(),
                    race_ethnicity: Some(group.to_string()),
                    ..flag(&format!("run-{night_n}"), &night.to_string(), &case, 0.3)
                });
                flags.push((
                    case.clone(),
                    night,
                    office,
                    status.to_string(),
                    group.to_string(),
                ));
                tonight.insert(case);
            };
            for k in 0..3 {
                let case = format!("C{night_n:03}-{k}");
                let office = offices[rng.below(3) as usize].to_string();
                push(case.clone(), office.clone(), "new", &mut recs, &mut tonight);
                ever.push((case, office));
            }
            for case in &queued_last {
                if rng.below(3) == 0 && !tonight.contains(case) {
                    let office = ever.iter().find(|e| &e.0 == case).unwrap().1.clone();
                    push(case.clone(), office, "continuing", &mut recs, &mut tonight);
                }
            }
            if night_n > 10 && rng.below(2) == 0 {
                let (case, office) = ever[rng.below(ever.len() as u64 - 6) as usize].clone();
                if !tonight.contains(&case) && !queued_last.contains(&case) {
                    push(case, office, "re-flagged", &mut recs, &mut tonight);
                }
            }
            store
                .record_run(
                    &RunRecord {
                        started_unix: night_n as i64,
                        ..run(&format!("run-{night_n}"), &night.to_string())
                    },
                    &recs,
                    &[],
                )
                .unwrap();
            queued_last = tonight;
            // Reviews of tonight's new cases, 0-6 days later (some never).
            let mut returned = Returned {
                provenance: Provenance {
                    queue_sha256: format!("q{night_n}"),
                    by: "office".into(),
                    recipient: "all".into(),
                    instrument: "t@1".into(),
                },
                reviews: Vec::new(),
                actions: Vec::new(),
            };
            for r in recs.iter().filter(|r| r.status == "new") {
                if rng.below(5) == 0 {
                    continue;
                }
                let date = night + Days::new(rng.below(7));
                let consulted = (rng.below(4) != 0).then(|| night + Days::new(rng.below(5)));
                let disposition = if rng.below(10) == 0 {
                    "override"
                } else {
                    "coached"
                };
                let reviewer = format!("R{}", rng.below(3));
                // A first review, and for a third of the cases a re-review 91 days on.
                let again = rng.below(3) == 0;
                for (date, consulted) in [(date, consulted), (date + Days::new(91), None)]
                    .into_iter()
                    .take(1 + usize::from(again))
                {
                    let ratings: BTreeMap<String, String> = ["a", "b", "c"]
                        .iter()
                        .map(|i| (i.to_string(), scale[rng.below(3) as usize].to_string()))
                        .collect();
                    returned.reviews.push(WorkbookReview {
                        case_id: r.case_id.clone(),
                        reviewer: reviewer.clone(),
                        review_date: date,
                        disposition: disposition.into(),
                        override_reason: (disposition == "override").then(|| "why".into()),
                        consultation_date: consulted,
                        attendees: consulted.map(|_| "w".into()),
                        ratings: ratings.clone(),
                        factors: BTreeMap::new(),
                    });
                    reviews.push((
                        r.case_id.clone(),
                        date,
                        reviewer.clone(),
                        disposition.into(),
                        consulted,
                    ));
                    rated.push((r.case_id.clone(), date, ratings));
                }
                if rng.below(2) == 0 {
                    let due = date + Days::new(rng.below(30));
                    let (status, completed) = match rng.below(3) {
                        0 => ("open", None),
                        1 => ("done", Some(date + Days::new(rng.below(40)))),
                        _ => ("dropped", None),
                    };
                    returned.actions.push(ActionItem {
                        case_id: r.case_id.clone(),
                        action: "a".into(),
                        owner: "o".into(),
                        due_date: due,
                        status: status.into(),
                        completed_on: completed,
                    });
                    actions.push((status.into(), due, r.case_id.clone(), completed));
                }
            }
            store.record_workbook(&returned, "wb", "sha").unwrap();
        }

        let (from, to, as_of) = (d("2025-09-15"), d("2025-12-15"), d("2026-01-10"));
        let o = MeasureOptions {
            from,
            to,
            as_of,
            review_days: 1,
            consultation_days: 1,
            calendar: Calendar::new(holidays),
            second_review_share: 0.5,
        };
        let m = store.practice_measures(&o).unwrap();
        // A case's latest flag on or before a day, looked up in what was drawn.
        let latest = |case: &str, date: NaiveDate| {
            flags
                .iter()
                .filter(|f| f.0 == case && f.1 <= date)
                .max_by_key(|f| f.1)
                .unwrap()
        };
        let office_before = |case: &str, date: NaiveDate| latest(case, date).2.clone();
        let group_before = |case: &str, date: NaiveDate| latest(case, date).4.clone();
        let night_before = |case: &str, date: NaiveDate| latest(case, date).1;

        // Flags and reviews, counted from what was drawn.
        let mut want = FlagCounts::default();
        let mut by_office: BTreeMap<String, FlagCounts> = BTreeMap::new();
        for (case, night, office, status, _) in &flags {
            if *night < from || *night > to || status == "continuing" {
                continue;
            }
            let first = reviews
                .iter()
                .filter(|r| &r.0 == case && r.1 >= *night && r.1 <= as_of)
                .map(|r| r.1)
                .min();
            let due = deadline(*night, 1, &holidays);
            let on_time = first.is_some_and(|f| f <= due);
            for c in [&mut want, by_office.entry(office.clone()).or_default()] {
                c.flagged += 1;
                c.reviewed += usize::from(first.is_some());
                c.reviewed_on_time += usize::from(on_time);
                c.pending += usize::from(first.is_none() && as_of <= due);
            }
        }
        assert_eq!(m.flags, want);
        assert_eq!(m.flags_by_office, by_office);
        assert!(
            want.flagged > 200
                && want.reviewed_on_time > 0
                && want.reviewed > want.reviewed_on_time
        );

        // Consultations: from the latest flag on or before the review.
        let mut c = ConsultationCounts::default();
        for (case, date, _, _, consulted) in &reviews {
            if *date < from || *date > as_of {
                continue;
            }
            c.reviews += 1;
            if let Some(day) = consulted {
                c.consulted += 1;
                let night = night_before(case, *date);
                c.within_deadline += usize::from(*day <= deadline(night, 1, &holidays));
            }
        }
        assert_eq!(m.consultations, c);
        assert!(c.within_deadline > 0 && c.within_deadline < c.consulted);

        // Action items.
        let mut a = ActionCounts::default();
        for (status, due, _, completed) in &actions {
            a.total += 1;
            match status.as_str() {
                "open" => {
                    a.open += 1;
                    a.overdue += usize::from(*due < as_of);
                }
                "done" if completed.unwrap() <= *due => a.done_on_time += 1,
                "done" => a.done_late += 1,
                _ => a.dropped += 1,
            }
        }
        assert_eq!(m.actions, a);
        assert!(a.done_on_time > 0 && a.done_late > 0 && a.overdue > 0);

        // Overrides by reviewer and by the office of the latest flag.
        let mut all = OverrideCounts::default();
        let mut by_reviewer: BTreeMap<String, OverrideCounts> = BTreeMap::new();
        let mut by_off: BTreeMap<String, OverrideCounts> = BTreeMap::new();
        let mut by_group: BTreeMap<String, OverrideCounts> = BTreeMap::new();
        for (case, date, reviewer, disposition, _) in &reviews {
            if *date < from || *date > as_of {
                continue;
            }
            let office = office_before(case, *date);
            let o = usize::from(disposition == "override");
            for c in [
                &mut all,
                by_reviewer.entry(reviewer.clone()).or_default(),
                by_off.entry(office).or_default(),
                by_group.entry(group_before(case, *date)).or_default(),
            ] {
                c.reviews += 1;
                c.overrides += o;
            }
        }
        assert_eq!(m.overrides, all);
        assert_eq!(m.overrides_by_reviewer, by_reviewer);
        assert_eq!(m.overrides_by_office, by_off);
        assert_eq!(m.overrides_by_group, by_group);
        assert_eq!(by_group.len(), 3);
        assert!(all.overrides > 0);

        // Item ratings by office and month, and from one review to the next.
        let mut by_office: BTreeMap<String, Counts3> = BTreeMap::new();
        let mut by_month: BTreeMap<String, Counts3> = BTreeMap::new();
        let mut changes: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        let in_window: Vec<&(String, NaiveDate, BTreeMap<String, String>)> = rated
            .iter()
            .filter(|r| r.1 >= from && r.1 <= as_of)
            .collect();
        for (case, date, ratings) in &in_window {
            let office = office_before(case, *date);
            for (item, rating) in ratings {
                *by_office
                    .entry(office.clone())
                    .or_default()
                    .entry(item.clone())
                    .or_default()
                    .entry(rating.clone())
                    .or_default() += 1;
                *by_month
                    .entry(date.format("%Y-%m").to_string())
                    .or_default()
                    .entry(item.clone())
                    .or_default()
                    .entry(rating.clone())
                    .or_default() += 1;
            }
            if let Some(earlier) = in_window.iter().find(|e| &e.0 == case && e.1 < *date) {
                for (item, rating) in ratings {
                    *changes
                        .entry(item.clone())
                        .or_default()
                        .entry(format!("{} -> {rating}", earlier.2[item]))
                        .or_default() += 1;
                }
            }
        }
        assert_eq!(m.ratings_by_office, by_office);
        assert_eq!(m.ratings_by_month, by_month);
        assert_eq!(m.rating_changes, changes);
        let improved: usize = changes
            .values()
            .filter_map(|c| c.get("area_needing_improvement -> strength"))
            .sum();
        assert!(
            improved > 0 && by_month.len() >= 3,
            "{improved} {by_month:?}"
        );
    }
}
