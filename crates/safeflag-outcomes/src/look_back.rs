//! The look back at past queues, once outcomes are known.
//!
//! Definitions (also in `docs/outcomes.md`):
//! - a night's **window** is `(night, night + window_days]`; a child has an
//!   outcome in it when one of the chosen kinds occurred in it. A window is
//!   **closed** when `night + window_days + lag_days` is on or before the day
//!   the outcomes are known through (the lag lets late recordings arrive);
//!   otherwise it is **open**, and the night shows its outcomes so far and
//!   how many of its days are known, never a rate: a child whose window is
//!   open and quiet is not a child without an outcome;
//! - a **case** has an outcome when any of its children scored that night
//!   has; the queue is made of cases, so precision (queued cases with an
//!   outcome over queued cases) and recall (over all cases with an outcome)
//!   are counted by case, with 95% Wilson intervals;
//! - **calibration** is by child: each scored child's probability against
//!   its own outcome (observed over expected, its z-test, the slope);
//! - a **month** is judged twice: its flags (each case flagged on any night
//!   of the month, from the first such night) and its calibration (from its
//!   first night with a score file, so a child counts once a month and the
//!   test's variance is honest). A closed month whose calibration p-value is
//!   below 0.05 divided by the number of closed months is an alert;
//! - the **pooled** breakdowns (by band, office, group, age band; reviewed
//!   or not; either side of the cut-off; other queue sizes) pool the closed
//!   months' first nights, each child once a month.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate, TimeDelta};
use safeflag_history::OutcomeRecord;
use safeflag_model::metrics::{Calibration, Rate, calibration, wilson};
use serde::{Deserialize, Serialize};

/// One child scored on one night, as the run's score file has it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredChild {
    /// The child.
    pub child_id: String,
    /// Its case.
    pub case_id: String,
    /// The case's office.
    pub office: String,
    /// Its calibrated probability.
    pub probability: f64,
    /// Its band, 1-20.
    pub band: u32,
    /// Its race/ethnicity group, when the score file has it.
    pub group: Option<String>,
    /// Its age band that night, when the score file has it.
    pub age_band: Option<String>,
}

/// One past night: its queue (from the history) and every child it scored
/// (from its score file).
#[derive(Debug, Clone, PartialEq)]
pub struct Night {
    /// The night.
    pub date: NaiveDate,
    /// The model that scored it.
    pub model_id: String,
    /// The queued cases, in rank order.
    pub queued: Vec<String>,
    /// Every scored child; `None` when the run's score file is gone.
    pub children: Option<Vec<ScoredChild>>,
}

/// What to look back with.
#[derive(Debug, Clone, PartialEq)]
pub struct LookBackOptions {
    /// Days after a night in which an outcome counts.
    pub window_days: u32,
    /// Days for late recordings to arrive after a window ends.
    pub lag_days: u32,
    /// The day the outcomes are known through.
    pub known_through: NaiveDate,
    /// The outcome kinds that count (`incident`, `report`, `removal`).
    pub kinds: Vec<String>,
    /// Days after a flag night in which a review of the case counts as its review.
    pub reviewed_within_days: u32,
}

/// A night's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Closed: every outcome in it is known.
    pub closed: bool,
    /// Days of the window known so far (all of them when closed).
    pub known_days: u32,
    /// Days in the window.
    pub days: u32,
}

/// The look back at one night.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NightResult {
    /// `YYYY-MM-DD`.
    pub night: String,
    /// The model that scored it.
    pub model_id: String,
    /// Its window.
    pub window: Window,
    /// Whether its score file was there (without it only the queue is known).
    pub scores: bool,
    /// Children scored.
    pub children: usize,
    /// Cases scored.
    pub cases: usize,
    /// Cases queued.
    pub queued: usize,
    /// Queued cases with an outcome (so far, when open).
    pub queued_with_outcome: usize,
    /// Scored cases with an outcome (so far, when open).
    pub cases_with_outcome: usize,
    /// Realised precision at the queue's size (closed windows only).
    pub precision: Option<Rate>,
    /// Realised recall (closed windows only).
    pub recall: Option<Rate>,
    /// Calibration against realised outcomes (closed windows only).
    pub calibration: Option<Calibration>,
}

/// The look back at one month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthResult {
    /// `YYYY-MM`.
    pub month: String,
    /// Every night of the month has a closed window.
    pub closed: bool,
    /// Nights in the month.
    pub nights: usize,
    /// Distinct cases queued on any night of the month.
    pub cases_flagged: usize,
    /// Of them, cases with an outcome after their first flag night of the month.
    pub flagged_with_outcome: usize,
    /// Their share with its interval (closed months only).
    pub precision: Option<Rate>,
    /// The night calibration is read from (the month's first with scores).
    pub calibration_night: Option<String>,
    /// Calibration on that night (closed months only).
    pub calibration: Option<Calibration>,
    /// The calibration is off by more than chance (Bonferroni over the
    /// closed months).
    pub alert: bool,
}

/// One group's children over the pooled nights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupResult {
    /// The group (band, office, race/ethnicity group or age band).
    pub group: String,
    /// Children (child-nights) in it.
    pub children: usize,
    /// Outcome rate among its flagged children (those in a queued case);
    /// `None` without any.
    pub flagged: Option<Rate>,
    /// Outcome rate among the rest.
    pub not_flagged: Option<Rate>,
    /// Share of its children with an outcome who were flagged.
    pub recall: Option<Rate>,
    /// Outcomes expected from the probabilities.
    pub expected: f64,
    /// Outcomes observed.
    pub observed: usize,
    /// Observed over expected (`None` when none were expected).
    pub ratio: Option<f64>,
    /// The same with its 95% interval, `(O ± 1.96 sd) / E`.
    #[serde(default)]
    pub calibration: Option<safeflag_model::fairness::RatioCi>,
    /// Calibration within the group is clearly off: the interval lies wholly
    /// outside 0.8-1.25 with at least 10 outcomes expected (the fairness
    /// audit's warning, docs/fairness.md).
    #[serde(default)]
    pub miscalibrated: bool,
}

/// A queue of another size, by score alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueSize {
    /// The size as a multiple of the real queue's.
    pub factor: f64,
    /// Cases it would have held, summed over the pooled nights.
    pub cases: usize,
    /// Of them, cases with an outcome.
    pub caught: usize,
    /// Cases with an outcome on those nights.
    pub of: usize,
}

/// The pooled breakdowns over the closed months' first nights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Pooled {
    /// The nights pooled.
    pub nights: Vec<String>,
    /// By band.
    pub by_band: Vec<GroupResult>,
    /// By office.
    pub by_office: Vec<GroupResult>,
    /// By race/ethnicity group.
    pub by_group: Vec<GroupResult>,
    /// By age band.
    pub by_age_band: Vec<GroupResult>,
    /// Flagged cases reviewed within the days allowed: their outcome rate.
    pub reviewed: Option<Rate>,
    /// Flagged cases not reviewed in time.
    pub not_reviewed: Option<Rate>,
    /// The last fifth of each queue (by rank).
    pub above_cutoff: Option<Rate>,
    /// The same number of cases just below it (by score, not queued).
    pub below_cutoff: Option<Rate>,
    /// Queues of other sizes.
    pub queue_sizes: Vec<QueueSize>,
}

/// The look back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookBack {
    /// The day the outcomes are known through.
    pub known_through: String,
    /// The window, in days.
    pub window_days: u32,
    /// The lag, in days.
    pub lag_days: u32,
    /// The outcome kinds counted.
    pub kinds: Vec<String>,
    /// Each night, oldest first.
    pub nights: Vec<NightResult>,
    /// Each month, oldest first.
    pub months: Vec<MonthResult>,
    /// The pooled breakdowns.
    pub pooled: Pooled,
}

/// The multiples of the queue's size the what-if counts.
pub const QUEUE_FACTORS: [f64; 5] = [0.5, 1.0, 1.5, 2.0, 3.0];

/// The outcome days of each child, of the kinds that count, sorted.
fn outcome_days(outcomes: &[OutcomeRecord], kinds: &[String]) -> HashMap<String, Vec<NaiveDate>> {
    let mut by: HashMap<String, Vec<NaiveDate>> = HashMap::new();
    for o in outcomes.iter().filter(|o| kinds.contains(&o.kind)) {
        if let Ok(d) = NaiveDate::parse_from_str(&o.occurred_on, "%Y-%m-%d") {
            by.entry(o.child_id.clone()).or_default().push(d);
        }
    }
    for days in by.values_mut() {
        days.sort_unstable();
    }
    by
}

/// One night's children with their outcomes, by case.
struct Judged<'a> {
    night: &'a Night,
    /// Each child's outcome in the window.
    child_outcome: Vec<bool>,
    /// Case -> (outcome, highest probability).
    cases: BTreeMap<&'a str, (bool, f64)>,
    queued: HashSet<&'a str>,
}

impl<'a> Judged<'a> {
    fn new(night: &'a Night, days: &HashMap<String, Vec<NaiveDate>>, window: u32) -> Judged<'a> {
        let end = night.date + TimeDelta::days(i64::from(window));
        let children = night.children.as_deref().unwrap_or_default();
        let child_outcome: Vec<bool> = children
            .iter()
            .map(|c| {
                days.get(&c.child_id)
                    .is_some_and(|ds| ds.iter().any(|d| *d > night.date && *d <= end))
            })
            .collect();
        let mut cases: BTreeMap<&str, (bool, f64)> = BTreeMap::new();
        for (c, &y) in children.iter().zip(&child_outcome) {
            let e = cases.entry(c.case_id.as_str()).or_insert((false, f64::MIN));
            e.0 |= y;
            e.1 = e.1.max(c.probability);
        }
        Judged {
            night,
            child_outcome,
            cases,
            queued: night.queued.iter().map(String::as_str).collect(),
        }
    }

    /// Whether any child of `case` scored that night has an outcome in the window.
    fn case_outcome(&self, case: &str) -> bool {
        self.cases.get(case).is_some_and(|(y, _)| *y)
    }

    fn children(&self) -> &'a [ScoredChild] {
        self.night.children.as_deref().unwrap_or_default()
    }

    /// Cases by score, highest first (ties by case id).
    fn by_score(&self) -> Vec<(&'a str, bool)> {
        let mut v: Vec<(&str, bool, f64)> =
            self.cases.iter().map(|(c, (y, p))| (*c, *y, *p)).collect();
        v.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(b.0)));
        v.into_iter().map(|(c, y, _)| (c, y)).collect()
    }

    fn calibration(&self) -> Calibration {
        let p: Vec<f64> = self.children().iter().map(|c| c.probability).collect();
        calibration(&p, &self.child_outcome)
    }
}

fn window(night: NaiveDate, o: &LookBackOptions) -> Window {
    let complete = night + TimeDelta::days(i64::from(o.window_days) + i64::from(o.lag_days));
    let known = (o.known_through - TimeDelta::days(i64::from(o.lag_days)) - night).num_days();
    Window {
        closed: complete <= o.known_through,
        known_days: known.clamp(0, i64::from(o.window_days)) as u32,
        days: o.window_days,
    }
}

fn month(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// The look back over `nights` (any order), with `outcomes` and each
/// case's review dates.
pub fn look_back(
    nights: &[Night],
    outcomes: &[OutcomeRecord],
    reviews: &[(String, NaiveDate)],
    o: &LookBackOptions,
) -> LookBack {
    let days = outcome_days(outcomes, &o.kinds);
    let mut nights: Vec<&Night> = nights.iter().collect();
    nights.sort_by_key(|n| n.date);
    let judged: Vec<Judged<'_>> = nights
        .iter()
        .map(|n| Judged::new(n, &days, o.window_days))
        .collect();

    let night_results = judged.iter().map(|j| night_result(j, o)).collect();

    // Months: their nights, in order.
    let mut months: BTreeMap<String, Vec<&Judged<'_>>> = BTreeMap::new();
    for j in &judged {
        months.entry(month(j.night.date)).or_default().push(j);
    }
    let mut month_results: Vec<MonthResult> = months
        .iter()
        .map(|(m, js)| month_result(m, js, o))
        .collect();
    let closed_with_calibration = month_results
        .iter()
        .filter(|m| m.calibration.is_some())
        .count();
    for m in &mut month_results {
        m.alert = m
            .calibration
            .is_some_and(|c| c.p_value < 0.05 / closed_with_calibration.max(1) as f64);
    }

    // The pooled nights: each closed month's calibration night.
    let pooled_nights: Vec<&Judged<'_>> = months
        .values()
        .zip(&month_results)
        .filter(|(_, r)| r.calibration.is_some())
        .filter_map(|(js, _)| calibration_night(js))
        .collect();
    let mut reviews_of: HashMap<&str, Vec<NaiveDate>> = HashMap::new();
    for (case, d) in reviews {
        reviews_of.entry(case.as_str()).or_default().push(*d);
    }
    let flagged_months: Vec<&[&Judged<'_>]> = months
        .values()
        .zip(&month_results)
        .filter(|(_, r)| r.closed)
        .map(|(js, _)| js.as_slice())
        .collect();
    LookBack {
        known_through: o.known_through.to_string(),
        window_days: o.window_days,
        lag_days: o.lag_days,
        kinds: o.kinds.clone(),
        nights: night_results,
        months: month_results,
        pooled: pooled(&pooled_nights, &flagged_months, &reviews_of, o),
    }
}

fn night_result(j: &Judged<'_>, o: &LookBackOptions) -> NightResult {
    let w = window(j.night.date, o);
    let scores = j.night.children.is_some();
    let queued_with_outcome = j
        .cases
        .iter()
        .filter(|(c, (y, _))| *y && j.queued.contains(*c))
        .count();
    let cases_with_outcome = j.cases.values().filter(|(y, _)| *y).count();
    let measured = w.closed && scores;
    NightResult {
        night: j.night.date.to_string(),
        model_id: j.night.model_id.clone(),
        window: w,
        scores,
        children: j.children().len(),
        cases: j.cases.len(),
        queued: j.queued.len(),
        queued_with_outcome,
        cases_with_outcome,
        precision: rate((queued_with_outcome, j.queued.len())).filter(|_| measured),
        recall: rate((queued_with_outcome, cases_with_outcome)).filter(|_| measured),
        calibration: measured.then(|| j.calibration()),
    }
}

fn month_result(m: &str, js: &[&Judged<'_>], o: &LookBackOptions) -> MonthResult {
    let closed = js.iter().all(|j| window(j.night.date, o).closed);
    let first = first_flags(js);
    let hits = first.iter().filter(|(c, j)| j.case_outcome(c)).count();
    let sample = calibration_night(js);
    MonthResult {
        month: m.to_string(),
        closed,
        nights: js.len(),
        cases_flagged: first.len(),
        flagged_with_outcome: hits,
        precision: rate((hits, first.len())).filter(|_| closed),
        calibration_night: sample.map(|j| j.night.date.to_string()),
        calibration: sample.filter(|_| closed).map(|j| j.calibration()),
        alert: false,
    }
}

/// A month's first night with a score file: the night its calibration
/// (and the pooled breakdowns) are read from.
fn calibration_night<'j, 'a>(js: &[&'j Judged<'a>]) -> Option<&'j Judged<'a>> {
    js.iter().find(|j| j.night.children.is_some()).copied()
}

/// Each case queued on some night of the month, with its first such night.
fn first_flags<'j, 'a>(js: &[&'j Judged<'a>]) -> BTreeMap<&'a str, &'j Judged<'a>> {
    let mut first: BTreeMap<&str, &Judged<'_>> = BTreeMap::new();
    for j in js {
        for c in &j.night.queued {
            first.entry(c.as_str()).or_insert(j);
        }
    }
    first
}

#[derive(Default)]
struct Tally {
    children: usize,
    flagged: (usize, usize),
    not_flagged: (usize, usize),
    expected: f64,
    variance: f64,
}

impl Tally {
    fn add(&mut self, flagged: bool, y: bool, p: f64) {
        self.children += 1;
        let t = if flagged {
            &mut self.flagged
        } else {
            &mut self.not_flagged
        };
        t.0 += usize::from(y);
        t.1 += 1;
        self.expected += p;
        self.variance += p * (1.0 - p);
    }

    fn result(self, group: String) -> GroupResult {
        let observed = self.flagged.0 + self.not_flagged.0;
        let calibration = safeflag_model::fairness::observed_over_expected(
            observed as f64,
            self.expected,
            self.variance,
        );
        GroupResult {
            group,
            children: self.children,
            flagged: rate(self.flagged),
            not_flagged: rate(self.not_flagged),
            recall: rate((self.flagged.0, observed)),
            expected: self.expected,
            observed,
            ratio: (self.expected > 0.0).then(|| observed as f64 / self.expected),
            calibration,
            miscalibrated: calibration.is_some_and(|c| {
                self.expected >= safeflag_model::fairness::MIN_EXPECTED
                    && c.clearly_outside(safeflag_model::fairness::RATIO_BAND)
            }),
        }
    }
}

/// `hits` of `n` with its interval; `None` without rows.
fn rate((hits, n): (usize, usize)) -> Option<Rate> {
    (n > 0).then(|| wilson(hits, n))
}

fn results(t: BTreeMap<String, Tally>) -> Vec<GroupResult> {
    t.into_iter().map(|(g, t)| t.result(g)).collect()
}

fn pooled(
    nights: &[&Judged<'_>],
    flagged_months: &[&[&Judged<'_>]],
    reviews_of: &HashMap<&str, Vec<NaiveDate>>,
    o: &LookBackOptions,
) -> Pooled {
    let mut by: [BTreeMap<String, Tally>; 4] = Default::default();
    let (mut above, mut below) = ((0, 0), (0, 0));
    let mut sizes: Vec<QueueSize> = QUEUE_FACTORS
        .iter()
        .map(|&factor| QueueSize {
            factor,
            cases: 0,
            caught: 0,
            of: 0,
        })
        .collect();
    for j in nights {
        for (c, &y) in j.children().iter().zip(&j.child_outcome) {
            let flagged = j.queued.contains(c.case_id.as_str());
            let missing = || "(not recorded)".to_string();
            let keys = [
                format!("{:02}", c.band),
                c.office.clone(),
                c.group.clone().unwrap_or_else(missing),
                c.age_band.clone().unwrap_or_else(missing),
            ];
            for (t, k) in by.iter_mut().zip(keys) {
                t.entry(k).or_default().add(flagged, y, c.probability);
            }
        }
        // Either side of the cut-off: the last fifth of the queue by rank,
        // and as many cases just below it by score.
        let k = j.night.queued.len();
        let m = (k / 5).max(1).min(k);
        for c in &j.night.queued[k - m..] {
            let y = j.case_outcome(c);
            above.0 += usize::from(y);
            above.1 += 1;
        }
        let ranked = j.by_score();
        for (_, y) in ranked.iter().filter(|(c, _)| !j.queued.contains(c)).take(m) {
            below.0 += usize::from(*y);
            below.1 += 1;
        }
        let with_outcome = ranked.iter().filter(|(_, y)| *y).count();
        for s in &mut sizes {
            let size = ((k as f64 * s.factor).round() as usize).min(ranked.len());
            s.cases += size;
            s.caught += ranked[..size].iter().filter(|(_, y)| *y).count();
            s.of += with_outcome;
        }
    }
    // Reviewed or not: each closed month's flagged cases, from their first
    // flag night of the month.
    let (mut reviewed, mut not_reviewed) = ((0, 0), (0, 0));
    for js in flagged_months {
        for (case, j) in first_flags(js) {
            let night = j.night;
            let until = night.date + TimeDelta::days(i64::from(o.reviewed_within_days));
            let was = reviews_of
                .get(case)
                .is_some_and(|ds| ds.iter().any(|d| *d >= night.date && *d <= until));
            let y = j.case_outcome(case);
            let t = if was {
                &mut reviewed
            } else {
                &mut not_reviewed
            };
            t.0 += usize::from(y);
            t.1 += 1;
        }
    }
    let [band, office, group, age] = by;
    Pooled {
        nights: nights.iter().map(|j| j.night.date.to_string()).collect(),
        by_band: results(band),
        by_office: results(office),
        by_group: results(group),
        by_age_band: results(age),
        reviewed: rate(reviewed),
        not_reviewed: rate(not_reviewed),
        above_cutoff: rate(above),
        below_cutoff: rate(below),
        queue_sizes: if nights.is_empty() { Vec::new() } else { sizes },
    }
}

impl LookBack {
    /// The monthly series, one row a month, for an evaluator's
    /// interrupted-time-series analysis: `month, closed, nights,
    /// cases_flagged, flagged_with_outcome, precision, precision_low,
    /// precision_high, calibration_night, children, expected, observed,
    /// observed_over_expected, calibration_z, calibration_slope, alert`
    /// (rates empty while a month is open).
    pub fn monthly_frame(&self) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
        use polars::prelude::*;
        let m = &self.months;
        let rate = |f: fn(&Rate) -> f64| -> Vec<Option<f64>> {
            m.iter().map(|r| r.precision.as_ref().map(f)).collect()
        };
        let cal = |f: fn(&Calibration) -> Option<f64>| -> Vec<Option<f64>> {
            m.iter()
                .map(|r| r.calibration.as_ref().and_then(f))
                .collect()
        };
        DataFrame::new_infer_height(vec![
            Column::new(
                "month".into(),
                m.iter().map(|r| r.month.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "closed".into(),
                m.iter().map(|r| r.closed).collect::<Vec<_>>(),
            ),
            Column::new(
                "nights".into(),
                m.iter().map(|r| r.nights as u32).collect::<Vec<_>>(),
            ),
            Column::new(
                "cases_flagged".into(),
                m.iter().map(|r| r.cases_flagged as u32).collect::<Vec<_>>(),
            ),
            Column::new(
                "flagged_with_outcome".into(),
                m.iter()
                    .map(|r| r.flagged_with_outcome as u32)
                    .collect::<Vec<_>>(),
            ),
            Column::new("precision".into(), rate(|r| r.rate)),
            Column::new("precision_low".into(), rate(|r| r.low)),
            Column::new("precision_high".into(), rate(|r| r.high)),
            Column::new(
                "calibration_night".into(),
                m.iter()
                    .map(|r| r.calibration_night.clone())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "children".into(),
                m.iter()
                    .map(|r| r.calibration.map(|c| c.n as u32))
                    .collect::<Vec<_>>(),
            ),
            Column::new("expected".into(), cal(|c| Some(c.expected))),
            Column::new(
                "observed".into(),
                m.iter()
                    .map(|r| r.calibration.map(|c| c.observed as u32))
                    .collect::<Vec<_>>(),
            ),
            Column::new("observed_over_expected".into(), cal(|c| Some(c.ratio))),
            Column::new("calibration_z".into(), cal(|c| Some(c.z))),
            Column::new("calibration_slope".into(), cal(|c| c.slope)),
            Column::new(
                "alert".into(),
                m.iter().map(|r| r.alert).collect::<Vec<_>>(),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{Rng, SeedableRng};
    use rand_pcg::Pcg64Mcg;
    use std::collections::BTreeSet;

    fn unit(r: &mut Pcg64Mcg) -> f64 {
        (r.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// A world: `cases` cases of one to three children, each with a fixed
    /// risk; nights every `every` days from `first`; each night queues the
    /// `k` cases with the highest score (risk times noise, so the queue is
    /// not the risk order); outcomes drawn day by day from each child's risk
    /// (times `shift(night)`), recorded up to `delay` days late.
    struct World {
        nights: Vec<Night>,
        outcomes: Vec<OutcomeRecord>,
    }

    #[allow(clippy::too_many_arguments)]
    fn world(
        seed: u64,
        cases: usize,
        first: NaiveDate,
        n_nights: usize,
        every: i64,
        k: usize,
        delay: i64,
        daily: impl Fn(NaiveDate) -> f64,
    ) -> World {
        let mut r = Pcg64Mcg::seed_from_u64(seed);
        let mut children = Vec::new();
        for c in 0..cases {
            let n = 1 + (r.next_u64() % 3) as usize;
            for i in 0..n {
                let p = 0.002 + 0.2 * unit(&mut r).powi(3);
                children.push((format!("K{c}-{i}"), format!("C{c}"), p));
            }
        }
        let groups = ["A", "B", "C"];
        let offices = ["North", "South"];
        let mut nights = Vec::new();
        for i in 0..n_nights {
            let date = first + TimeDelta::days(every * i as i64);
            let scored: Vec<ScoredChild> = children
                .iter()
                .enumerate()
                .map(|(j, (child, case, p))| {
                    let prob = (p * (0.5 + unit(&mut r))).min(0.99);
                    ScoredChild {
                        child_id: child.clone(),
                        case_id: case.clone(),
                        office: offices[j % 2].to_string(),
                        probability: prob,
                        band: 1 + (prob * 19.0) as u32,
                        group: Some(groups[j % 3].to_string()),
                        age_band: Some("under 6 months".to_string()),
                    }
                })
                .collect();
            let mut best: BTreeMap<&str, f64> = BTreeMap::new();
            for s in &scored {
                let e = best.entry(s.case_id.as_str()).or_insert(0.0);
                *e = e.max(s.probability * (0.8 + 0.4 * unit(&mut r)));
            }
            let mut order: Vec<(&str, f64)> = best.into_iter().collect();
            order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
            let queued = order.iter().take(k).map(|(c, _)| c.to_string()).collect();
            nights.push(Night {
                date,
                model_id: "m".into(),
                queued,
                children: Some(scored),
            });
        }
        // Outcomes: each child, each day of the span, with its daily hazard.
        let last = first + TimeDelta::days(every * n_nights as i64 + 400);
        let mut outcomes = Vec::new();
        for (child, _, p) in &children {
            let mut d = first;
            while d < last {
                let hazard = p / 365.0 * daily(d);
                if unit(&mut r) < hazard {
                    let late = (r.next_u64() % (delay as u64 + 1)) as i64;
                    outcomes.push(OutcomeRecord {
                        child_id: child.clone(),
                        kind: "incident".into(),
                        occurred_on: d.to_string(),
                        recorded_on: (d + TimeDelta::days(late)).to_string(),
                        severity: None,
                    });
                }
                d += TimeDelta::days(1);
            }
        }
        World { nights, outcomes }
    }

    fn options(known_through: NaiveDate, window: u32, lag: u32) -> LookBackOptions {
        LookBackOptions {
            window_days: window,
            lag_days: lag,
            known_through,
            kinds: vec!["incident".into()],
            reviewed_within_days: 30,
        }
    }

    /// The Wilson interval written out from its textbook form, apart from
    /// the code under test.
    fn textbook_wilson(x: usize, n: usize) -> (f64, f64) {
        let z = 1.959_963_984_540_054f64;
        let (x, n) = (x as f64, n as f64);
        let p = x / n;
        let denom = 1.0 + z * z / n;
        let centre = p + z * z / (2.0 * n);
        let spread = z * ((p * (1.0 - p) + z * z / (4.0 * n)) / n).sqrt();
        (
            ((centre - spread) / denom).max(0.0),
            ((centre + spread) / denom).min(1.0),
        )
    }

    #[test]
    fn realised_precision_and_recall_match_a_direct_count() {
        let w = world(7, 400, day("2024-01-01"), 10, 7, 20, 20, |_| 1.0);
        let o = options(day("2026-06-30"), 180, 30);
        let lb = look_back(&w.nights, &w.outcomes, &[], &o);
        assert_eq!(lb.nights.len(), 10);
        for (night, got) in w.nights.iter().zip(&lb.nights) {
            // Directly: a case's outcome is any outcome of any of its
            // children that night, in (night, night + 180].
            let end = night.date + TimeDelta::days(180);
            let children = night.children.as_ref().unwrap();
            let case_has = |case: &str| {
                w.outcomes.iter().any(|oc| {
                    let d = day(&oc.occurred_on);
                    d > night.date
                        && d <= end
                        && children
                            .iter()
                            .any(|c| c.case_id == case && c.child_id == oc.child_id)
                })
            };
            let hits = night.queued.iter().filter(|c| case_has(c)).count();
            let cases: BTreeSet<&str> = children.iter().map(|c| c.case_id.as_str()).collect();
            let all = cases.iter().filter(|c| case_has(c)).count();
            let p = got.precision.unwrap();
            assert_eq!((p.hits, p.n), (hits, 20), "{}", got.night);
            let (lo, hi) = textbook_wilson(hits, 20);
            assert!((p.low - lo).abs() < 1e-12 && (p.high - hi).abs() < 1e-12);
            let r = got.recall.unwrap();
            assert_eq!((r.hits, r.n), (hits, all));
            assert!(got.window.closed);
            // Calibration counts each child once.
            let c = got.calibration.unwrap();
            assert_eq!(c.n, children.len());
        }
        // Some nights have hits and misses, so the check is not vacuous.
        assert!(lb.nights.iter().any(|n| n.queued_with_outcome > 0));
        assert!(lb.nights.iter().any(|n| n.queued_with_outcome < n.queued));
    }

    #[test]
    fn an_open_window_is_never_read_as_no_outcome() {
        // Outcomes recorded up to 25 days late; the lag is 30. For any day
        // the agency could look back from, with only what it had recorded
        // by then: every night it calls closed has exactly the figures of
        // the full record, and the others have no rates at all.
        let w = world(11, 300, day("2024-01-01"), 20, 14, 15, 25, |_| 1.0);
        let full = look_back(
            &w.nights,
            &w.outcomes,
            &[],
            &options(day("2027-01-01"), 90, 30),
        );
        let mut r = Pcg64Mcg::seed_from_u64(3);
        let mut saw_open = 0;
        for _ in 0..25 {
            let t = day("2024-03-01") + TimeDelta::days((r.next_u64() % 500) as i64);
            let known: Vec<OutcomeRecord> = w
                .outcomes
                .iter()
                .filter(|oc| day(&oc.recorded_on) <= t)
                .cloned()
                .collect();
            let then = look_back(&w.nights, &known, &[], &options(t, 90, 30));
            for (a, b) in then.nights.iter().zip(&full.nights) {
                if a.window.closed {
                    assert_eq!(a, b, "night {} seen from {t}", a.night);
                } else {
                    saw_open += 1;
                    assert!(a.precision.is_none() && a.recall.is_none() && a.calibration.is_none());
                    assert!(a.window.known_days < 90);
                }
            }
            for (a, b) in then.months.iter().zip(&full.months) {
                if a.closed {
                    assert_eq!(a.precision, b.precision, "month {}", a.month);
                } else {
                    assert!(a.precision.is_none() && a.calibration.is_none());
                }
            }
        }
        assert!(saw_open > 0);
    }

    /// A group's calibration with its interval, by hand: 400 children at
    /// 0.1 with 20 outcomes (expected 40, variance 36) is 0.50 with the
    /// interval (20 ± 1.96 * 6) / 40, clearly off; 200 at 0.1 with 20 is 1.
    #[test]
    fn a_groups_calibration_and_its_warning_by_hand() {
        let mut off = Tally::default();
        for i in 0..400 {
            off.add(i < 30, i % 20 == 0, 0.1);
        }
        let g = off.result("B".into());
        let c = g.calibration.unwrap();
        assert_eq!((g.observed, g.expected.round() as i64), (20, 40));
        assert!((c.ratio - 0.5).abs() < 1e-12);
        assert!((c.low - (20.0 - 1.959_963_984_540_054 * 6.0) / 40.0).abs() < 1e-9);
        assert!((c.high - (20.0 + 1.959_963_984_540_054 * 6.0) / 40.0).abs() < 1e-9);
        assert!(g.miscalibrated);
        let mut fine = Tally::default();
        for i in 0..200 {
            fine.add(false, i % 10 == 0, 0.1);
        }
        let g = fine.result("A".into());
        assert!((g.calibration.unwrap().ratio - 1.0).abs() < 1e-12);
        assert!(!g.miscalibrated);
    }

    #[test]
    fn calibration_over_time_flags_the_shifted_months_and_no_other() {
        // Twelve monthly nights, 30-day windows that do not overlap; the
        // hazard doubles from 2024-05-02 to 2024-07-01 (the windows of the
        // May and June nights).
        let firsts: Vec<NaiveDate> = (1..=12)
            .map(|m| NaiveDate::from_ymd_opt(2024, m, 1).unwrap())
            .collect();
        let shifted = |d: NaiveDate| {
            if d > day("2024-05-01") && d <= day("2024-07-01") {
                2.0
            } else {
                1.0
            }
        };
        let mut w = world(5, 6000, firsts[0], 1, 1, 50, 0, shifted);
        // The world's probabilities are for a year; over a 30-day window the
        // true probability is 1 - exp(-p * 30 / 365), so score with that.
        let base = w.nights.pop().unwrap();
        let nights: Vec<Night> = firsts
            .iter()
            .map(|&date| {
                let mut n = base.clone();
                n.date = date;
                for c in n.children.as_mut().unwrap() {
                    c.probability = 1.0 - (-c.probability * 30.0 / 365.0).exp();
                }
                n
            })
            .collect();
        let lb = look_back(
            &nights,
            &w.outcomes,
            &[],
            &options(day("2025-06-01"), 30, 30),
        );
        let alerts: Vec<&str> = lb
            .months
            .iter()
            .filter(|m| m.alert)
            .map(|m| m.month.as_str())
            .collect();
        assert_eq!(alerts, ["2024-05", "2024-06"], "{:#?}", lb.months);
        assert_eq!(lb.months.iter().filter(|m| m.closed).count(), 12);
    }
}
