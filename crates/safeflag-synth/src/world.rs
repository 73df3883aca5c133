//! An event-level synthetic world: an agency's relational extract with a known truth.
//!
//! The flat generator makes snapshot rows directly; no agency has those. This
//! one simulates what a case-management system records: families whose
//! children are reported, investigated, served in the home or removed; cases
//! that change type and worker; members who move in; reports whose findings
//! come weeks later; visits typed in days late; assessments approved after
//! they were done; and critical incidents drawn month by month from a hazard
//! built on the same risk factors and effect sizes as the flat generator
//! ([`crate::truth::logit`], on the household's *true* state that month).
//! Every row carries the day it was recorded, and nothing recorded after the
//! extract date is in the extract. The truth table holds each child's hazard
//! for every 30-day step, so the true probability of an incident in any
//! window is known exactly ([`true_probability`]). `docs/synthetic-extract.md`
//! documents every choice.
//!
//! Draws come from a PCG stream per family, so the world does not depend on
//! the thread count, and families are generated in parallel.

use chrono::NaiveDate;
use polars::prelude::*;
use rand_core::Rng;
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;
use safeflag_core::contract::{CASE_TYPES, CONCERN_LEVELS, SLEEP_ENVIRONMENTS};

use crate::generate::{
    OFFICES, RACE_GROUPS, SUPERVISORS_PER_OFFICE, WORKERS_PER_SUPERVISOR, chance, pick_cumulative,
    pick_weighted, stream, unit,
};
use crate::truth::{self, TruthInputs};

/// Days in one step of the truth's hazard table.
pub const STEP_DAYS: i32 = 30;
/// Hazard multiplier (on the log scale) for a child whose family has no open
/// case that month, against an in-home case: nobody is visiting, but the
/// family is, on average, in a calmer stretch.
pub const NO_CASE_LOG_HAZARD: f64 = -0.8;

/// What world to generate.
#[derive(Debug, Clone)]
pub struct WorldParams {
    /// Children (about: whole families are generated until this many exist).
    pub children: usize,
    /// Years the extract covers before its date.
    pub years: u32,
    /// The seed; the same seed gives the same world.
    pub seed: u64,
    /// The extract date: nothing recorded after it is in the extract.
    pub extracted_on: NaiveDate,
    /// Keep the truth table (a row per child per 30-day step: large).
    pub truth: bool,
}

impl Default for WorldParams {
    fn default() -> Self {
        WorldParams {
            children: 2_000,
            years: 2,
            seed: 1,
            extracted_on: NaiveDate::from_ymd_opt(2025, 12, 31).expect("valid date"),
            truth: false,
        }
    }
}

/// A generated extract: the eight tables, typed, in
/// `safeflag_core::extract_contract::TABLES` order, and the truth.
#[derive(Debug, Clone)]
pub struct World {
    /// The extract date.
    pub extracted_on: NaiveDate,
    /// The tables, typed to the extract contract.
    pub tables: Vec<DataFrame>,
    /// `child_id`, `step_start` (date), `hazard` (expected incidents over the
    /// 30 days from `step_start`), `died_on` (the day of a fatal incident, if
    /// any): the true hazard of every child in every step from birth (the
    /// hazard a child would have had goes on after a death: a row dated
    /// before the death needs its whole window).
    pub truth: DataFrame,
}

use safeflag_core::days::to_days as epoch_days;

/// An exponential draw with the given mean, in whole days, capped.
fn lag(r: &mut Pcg64Mcg, mean: f64, cap: i32) -> i32 {
    ((-mean * (1.0 - unit(r)).ln()) as i32).min(cap)
}

fn between(r: &mut Pcg64Mcg, lo: i32, hi: i32) -> i32 {
    lo + (unit(r) * f64::from((hi - lo).max(0))) as i32
}

struct PersonRow {
    id: String,
    birth: i32,
    sex: Option<&'static str>,
    race: Option<&'static str>,
    disability: Option<bool>,
}

struct PeriodRow {
    case_id: String,
    case_type: &'static str,
    office: &'static str,
    supervisor: String,
    worker: String,
    start: i32,
    end: Option<i32>,
    recorded: i32,
}

struct MemberRow {
    case_id: String,
    person: String,
    role: &'static str,
    in_home: bool,
    start: i32,
    end: Option<i32>,
    recorded: i32,
}

struct ReportRow {
    id: String,
    child: String,
    received: i32,
    recorded: i32,
    disposition: Option<&'static str>,
    disposed: Option<i32>,
    disposition_recorded: Option<i32>,
}

struct RemovalRow {
    id: String,
    child: String,
    removed: i32,
    recorded: i32,
    discharged: Option<i32>,
}

struct ContactRow {
    id: String,
    case_id: String,
    person: Option<String>,
    on: i32,
    kind: &'static str,
    recorded: i32,
}

struct AssessmentRow {
    id: String,
    case_id: String,
    child: Option<String>,
    assessed: i32,
    approved: i32,
    sleep: Option<&'static str>,
    mental_health: Option<&'static str>,
    substance_use: Option<&'static str>,
    domestic_violence: Option<bool>,
}

struct IncidentRow {
    id: String,
    child: String,
    occurred: i32,
    recorded: i32,
    severity: &'static str,
    maltreatment: Option<bool>,
}

struct TruthRow {
    child: String,
    step: i32,
    hazard: f64,
    died: Option<i32>,
}

/// The rows of every table (and the truth), as the simulation makes them
/// (dates as days since 1970).
#[derive(Default)]
struct Tables {
    persons: Vec<PersonRow>,
    periods: Vec<PeriodRow>,
    members: Vec<MemberRow>,
    reports: Vec<ReportRow>,
    removals: Vec<RemovalRow>,
    contacts: Vec<ContactRow>,
    assessments: Vec<AssessmentRow>,
    incidents: Vec<IncidentRow>,
    truth: Vec<TruthRow>,
}

impl Tables {
    fn append(&mut self, o: Tables) {
        self.persons.extend(o.persons);
        self.periods.extend(o.periods);
        self.members.extend(o.members);
        self.reports.extend(o.reports);
        self.removals.extend(o.removals);
        self.contacts.extend(o.contacts);
        self.assessments.extend(o.assessments);
        self.incidents.extend(o.incidents);
        self.truth.extend(o.truth);
    }
}

/// A period of a case, in the simulation.
#[derive(Clone, Copy)]
struct Period {
    ty: u8,
    start: i32,
    end: i32,
    worker: usize,
}

/// One case of a family, in the simulation.
struct Case {
    open: i32,
    close: i32,
    periods: Vec<Period>,
    visits: Vec<i32>,
}

const FAMILIES_PER_BLOCK: u64 = 2048;

/// Generates the world.
pub fn generate_world(p: &WorldParams) -> World {
    let t1 = epoch_days(p.extracted_on);
    let t0 = t1 - 365 * p.years as i32;
    // Children per family are drawn from the family's own stream, so the
    // number of families is found by counting (cheap) before generating.
    let mut families = 0u64;
    let mut children = 0usize;
    while children < p.children {
        children += kids_in(p.seed, families);
        families += 1;
    }
    let blocks: Vec<Tables> = (0..families.div_ceil(FAMILIES_PER_BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut t = Tables::default();
            let first = b * FAMILIES_PER_BLOCK;
            for f in first..(first + FAMILIES_PER_BLOCK).min(families) {
                family(p.seed, f, t0, t1, p.truth, None, &mut t);
            }
            t
        })
        .collect();
    let mut all = Tables::default();
    for b in blocks {
        all.append(b);
    }
    finish(all, p.extracted_on)
}

fn kids_in(seed: u64, f: u64) -> usize {
    pick_cumulative(unit(&mut stream(seed, f, 100)), &[0.40, 0.72, 0.90]) + 1
}

/// Where a family's history forks: from day `from` on, its reports (and the
/// cases, removals and visits they bring) are drawn again from future number
/// `future`'s own stream; everything drawn before is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fork {
    from: i32,
    future: u64,
}

/// The stream keys of a family's forked futures start here, clear of the
/// keys its own history uses.
const FUTURE_STREAMS: u64 = 1 << 40;

#[allow(clippy::too_many_lines)]
fn family(
    seed: u64,
    f: u64,
    t0: i32,
    t1: i32,
    keep_truth: bool,
    fork: Option<Fork>,
    t: &mut Tables,
) {
    let mut own = stream(seed, f, 101);
    let mut future = stream(
        seed,
        f,
        FUTURE_STREAMS + fork.map_or(0, |k| (k.future << 20) ^ (k.from as u64 & 0xF_FFFF)),
    );
    let mut r: &mut Pcg64Mcg = &mut own;
    let n_kids = kids_in(seed, f);
    let office = pick_weighted(r, OFFICES.iter().map(|o| o.2));
    let (_, oc, _) = OFFICES[office];
    let supervisor = (r.next_u64() % SUPERVISORS_PER_OFFICE as u64) as usize;
    let race = pick_weighted(r, RACE_GROUPS.iter().map(|g| g.1));
    let mental = pick_cumulative(unit(r), &[0.60, 0.82]) as u8;
    let substance = pick_cumulative(unit(r), &[0.58, 0.78]) as u8;
    let dv = chance(r, 0.22);
    // How often this family's workers visit: a mean gap of 12 to 60 days.
    let visit_gap = 12.0 + 48.0 * unit(r);
    let pid = |k: usize| format!("P{f:07}-{k}");

    // Parents (one or two), then children, then perhaps an unrelated adult.
    let mut ids = Vec::new();
    let n_parents = if chance(r, 0.55) { 2 } else { 1 };
    let mut parent_births = Vec::new();
    for k in 0..n_parents {
        let age = if chance(r, 0.08) {
            15.0 + 5.0 * unit(r)
        } else {
            (20.0 - 9.0 * (1.0 - unit(r)).ln()).min(60.0)
        };
        let birth = t0 - (age * 365.25) as i32;
        parent_births.push(birth);
        add_person(
            t,
            pid(k),
            birth,
            Some(if k == 0 { "F" } else { "M" }),
            Some(race),
            Some(false),
        );
        ids.push(pid(k));
    }
    struct Kid {
        id: String,
        birth: i32,
        sleep: u8,
        disability: bool,
        died: Option<i32>,
    }
    let mut kids = Vec::new();
    for k in 0..n_kids {
        // A third are born during the extract's span: infants are where the risk is.
        let birth = if chance(r, 0.35) {
            between(r, t0, t1 - 60)
        } else {
            t0 - between(r, 0, 12 * 365)
        };
        // crib, adult_bed, bed_sharing, sofa_chair, other_unsafe, unknown
        let sleep = pick_weighted(r, [0.62, 0.10, 0.14, 0.04, 0.05, 0.05].into_iter()) as u8;
        let disability = chance(r, 0.08);
        let sex = match pick_cumulative(unit(r), &[0.49, 0.98]) {
            0 => "F",
            1 => "M",
            _ => "U",
        };
        let id = pid(10 + k);
        add_person(
            t,
            id.clone(),
            birth,
            Some(sex),
            Some(race).filter(|_| !chance(r, 0.04)),
            Some(disability),
        );
        kids.push(Kid {
            id,
            birth,
            sleep,
            disability,
            died: None,
        });
    }
    let unrelated = chance(r, 0.15).then(|| {
        let birth = t0 - (between(r, 19, 45) as f64 * 365.25) as i32;
        add_person(t, pid(9), birth, Some("M"), None, None);
        // Moves in at some day of the span (or before it), and may leave.
        let moved_in = between(r, t0 - 365, t1);
        let moved_out = chance(r, 0.3).then(|| between(r, moved_in + 30, t1 + 365));
        (pid(9), moved_in, moved_out)
    });
    let adult_in_home = |day: i32| {
        unrelated
            .as_ref()
            .is_some_and(|(_, i, o)| *i <= day && o.is_none_or(|o| day < o))
    };

    let first_report = t.reports.len();
    // Reports: a first in the two years before the span or during it, then
    // gaps with a mean of 14 months (shorter in families reported more).
    let surveillance = if matches!(
        RACE_GROUPS[race].0,
        "Black" | "American Indian or Alaska Native"
    ) {
        0.8
    } else {
        1.0
    };
    let mut day = t0 - 730 + lag(r, 500.0, 3000);
    // The mean of the exponential wait that set `day` (none after the
    // 90-day waits for a first birth, which are not drawn).
    let mut wait_mean = Some(500.0);
    let mut cases: Vec<Case> = Vec::new();
    let mut n_report = 0;
    let mut reports_true: Vec<(i32, bool)> = Vec::new(); // received, substantiated (by disposed day)
    let mut removals_true: Vec<i32> = Vec::new();
    let cid = |e: usize| format!("C{f:07}-{e}");
    let mut forked = false;
    loop {
        if let Some(k) = fork.filter(|k| !forked && day >= k.from) {
            // Nothing was reported between the last report and the fork, so
            // the wait for the next one, exponential and so without memory,
            // starts again from the fork day (its cap lies beyond any span).
            forked = true;
            r = &mut future;
            if let Some(mean) = wait_mean {
                day = k.from + lag(r, mean, 4000);
            }
        }
        if day >= t1 {
            break;
        }
        let born: Vec<usize> = (0..kids.len()).filter(|&k| kids[k].birth <= day).collect();
        if born.is_empty() {
            day += 90;
            wait_mean = None;
            continue;
        }
        let child = born[(r.next_u64() % born.len() as u64) as usize];
        let rid = format!("R{f:07}-{n_report}");
        n_report += 1;
        let received = day;
        let recorded = received + lag(r, 1.0, 10);
        let open_case = cases.iter().position(|c| c.open <= day && day < c.close);
        let screened_out = open_case.is_none() && chance(r, 0.30);
        let risk = f64::from(mental + substance) / 4.0 + if dv { 0.3 } else { 0.0 };
        let (disp, disposed, disp_rec) = if screened_out {
            (Some("screened_out"), Some(received), Some(recorded))
        } else {
            let disposed = received + between(r, 20, 60);
            let rec = disposed + lag(r, 10.0, 90);
            let finding = if chance(r, 0.22 + 0.2 * risk) {
                "substantiated"
            } else if chance(r, 0.06) {
                "indicated"
            } else {
                "unsubstantiated"
            };
            (Some(finding), Some(disposed), Some(rec))
        };
        let substantiated = matches!(disp, Some("substantiated" | "indicated"));
        if recorded <= t1 {
            let known = disp_rec.is_some_and(|d| d <= t1);
            t.reports.push(ReportRow {
                id: rid,
                child: kids[child].id.clone(),
                received,
                recorded,
                disposition: if known { disp } else { Some("pending") },
                disposed: if known { disposed } else { None },
                disposition_recorded: if known { disp_rec } else { None },
            });
        }
        reports_true.push((disposed.unwrap_or(received), substantiated));
        if !screened_out && open_case.is_none() {
            // A new case: an investigation, then perhaps services in the home,
            // then perhaps a removal and out-of-home care.
            let open = received + between(r, 0, 3);
            let inv_end = disposed.unwrap_or(open + 30).max(open + 10);
            let mut periods = vec![Period {
                ty: 0,
                start: open,
                end: inv_end,
                worker: (r.next_u64() % WORKERS_PER_SUPERVISOR as u64) as usize,
            }];
            let mut end = inv_end;
            if substantiated && chance(r, 0.6) {
                let serve = between(r, 120, 500);
                let mut ty = 1;
                let mut start = inv_end;
                if chance(r, 0.15) {
                    // Removal partway through in-home services.
                    let removed = inv_end + between(r, 10, 120);
                    periods.push(Period {
                        ty: 1,
                        start,
                        end: removed,
                        worker: periods[0].worker,
                    });
                    let removal_child = born[(r.next_u64() % born.len() as u64) as usize];
                    let discharged = removed + between(r, 60, 400);
                    let rec = removed + lag(r, 2.0, 20);
                    if rec <= t1 {
                        t.removals.push(RemovalRow {
                            id: format!("X{f:07}-{}", removals_true.len()),
                            child: kids[removal_child].id.clone(),
                            removed,
                            recorded: rec,
                            discharged: (discharged <= t1).then_some(discharged),
                        });
                    }
                    removals_true.push(removed);
                    ty = 2;
                    start = removed;
                    end = discharged;
                } else {
                    end = inv_end + serve;
                }
                // A reassignment halfway through a long stretch.
                let worker = (r.next_u64() % WORKERS_PER_SUPERVISOR as u64) as usize;
                if end - start > 120 && chance(r, 0.3) {
                    let mid = start + (end - start) / 2;
                    periods.push(Period {
                        ty,
                        start,
                        end: mid,
                        worker,
                    });
                    periods.push(Period {
                        ty,
                        start: mid,
                        end,
                        worker: (worker + 1) % WORKERS_PER_SUPERVISOR,
                    });
                } else {
                    periods.push(Period {
                        ty,
                        start,
                        end,
                        worker,
                    });
                }
            }
            // Visits while open.
            let mut visits = Vec::new();
            let mut v = open + between(r, 1, 10);
            while v < end {
                visits.push(v);
                v += 1 + lag(r, visit_gap, 180);
            }
            cases.push(Case {
                open,
                close: end,
                periods,
                visits,
            });
        }
        day += 1 + (lag(r, 420.0 * surveillance, 4000) as f64) as i32;
        wait_mean = Some(420.0 * surveillance);
    }

    // The cases' rows: periods, members, contacts, assessments.
    for (e, c) in cases.iter().enumerate() {
        let case_id = cid(e);
        for (k, pd) in c.periods.iter().enumerate() {
            // Intake opens the case the day it opens it (so everything else
            // about the case refers to a case on record); later changes of
            // type or worker are typed in a little late.
            let rec = if k == 0 {
                pd.start
            } else {
                pd.start + lag(r, 1.0, 7)
            };
            if rec > t1 {
                continue;
            }
            t.periods.push(PeriodRow {
                case_id: case_id.clone(),
                case_type: CASE_TYPES[pd.ty as usize],
                office: OFFICES[office].0,
                supervisor: format!("S-{oc}-{:02}", supervisor + 1),
                worker: format!("W-{oc}-{:02}-{}", supervisor + 1, pd.worker + 1),
                start: pd.start,
                end: (pd.end <= t1).then_some(pd.end),
                recorded: rec,
            });
        }
        let close = (c.close <= t1).then_some(c.close);
        let member = |t: &mut Tables,
                      person: &str,
                      role: &'static str,
                      start: i32,
                      end: Option<i32>,
                      rec: i32| {
            if rec <= t1 {
                t.members.push(MemberRow {
                    case_id: case_id.clone(),
                    person: person.to_string(),
                    role,
                    in_home: true,
                    start,
                    end,
                    recorded: rec,
                });
            }
        };
        for k in 0..n_parents {
            let rec = c.open + lag(r, 2.0, 14);
            member(t, &pid(k), "parent", c.open, close, rec);
        }
        let mut case_kids = Vec::new();
        for kid in &kids {
            if kid.birth < c.close {
                let start = c.open.max(kid.birth);
                let rec = start + lag(r, 2.0, 14);
                member(t, &kid.id, "child", start, close, rec);
                case_kids.push(kid.id.clone());
            }
        }
        if let Some((id, moved_in, moved_out)) = &unrelated {
            let start = c.open.max(*moved_in);
            let end = moved_out.map_or(c.close, |o| o.min(c.close));
            if start < end {
                // Workers learn of a new adult in the home late.
                let rec = start + lag(r, 12.0, 60);
                member(
                    t,
                    id,
                    "unrelated_adult",
                    start,
                    (end <= t1).then_some(end),
                    rec,
                );
            }
        }
        for (n, &v) in c.visits.iter().enumerate() {
            let rec = v + if chance(r, 0.7) {
                lag(r, 1.0, 2)
            } else {
                lag(r, 8.0, 45)
            };
            if rec > t1 {
                continue;
            }
            let seen = (!case_kids.is_empty() && chance(r, 0.4))
                .then(|| case_kids[(r.next_u64() % case_kids.len() as u64) as usize].clone());
            t.contacts.push(ContactRow {
                id: format!("V{f:07}-{e}-{n}"),
                case_id: case_id.clone(),
                person: seen,
                on: v,
                kind: if chance(r, 0.85) {
                    "face_to_face"
                } else {
                    "attempted"
                },
                recorded: rec,
            });
        }
        // An assessment at the investigation, then every six months while open.
        let mut a_day = c.open + between(r, 3, 20);
        let mut n = 0;
        while a_day < c.close {
            let approved = a_day + lag(r, 7.0, 60);
            // A tenth of current concerns are recorded as history.
            let observe = |r: &mut Pcg64Mcg, level: u8| {
                let l = if level == 2 && chance(r, 0.1) {
                    1
                } else {
                    level
                };
                Some(CONCERN_LEVELS[l as usize])
            };
            let (mh, su) = (observe(r, mental), observe(r, substance));
            if approved <= t1 {
                for kid in kids.iter().filter(|k| k.birth <= a_day) {
                    let sleep = if chance(r, 0.08) { 5 } else { kid.sleep };
                    t.assessments.push(AssessmentRow {
                        id: format!("A{f:07}-{e}-{n}"),
                        case_id: case_id.clone(),
                        child: Some(kid.id.clone()),
                        assessed: a_day,
                        approved,
                        sleep: Some(SLEEP_ENVIRONMENTS[sleep as usize]),
                        mental_health: mh,
                        substance_use: su,
                        domestic_violence: Some(dv),
                    });
                    n += 1;
                }
            }
            a_day += between(r, 150, 210);
        }
    }

    // Incidents, step by step, from the hazard on the true state.
    let mut n_incident = 0;
    let first_truth = t.truth.len();
    let mut step = t0;
    while step < t1 {
        let open = cases.iter().find(|c| c.open <= step && step < c.close);
        let period = open.and_then(|c| c.periods.iter().find(|p| p.start <= step && step < p.end));
        let youngest = parent_births.iter().max().copied().unwrap_or(t0);
        let caregiver_age = i64::from((step - youngest) / 365);
        let prior_reports = reports_true.iter().filter(|(d, _)| *d < step).count() as i64;
        let prior_subs = reports_true.iter().filter(|(d, s)| *s && *d < step).count() as i64;
        let prior_removals = removals_true.iter().filter(|d| **d < step).count() as i64;
        let in_home = kids.iter().filter(|k| k.birth <= step).count() as i64;
        // The hazard goes on being computed after a child's death (a row
        // dated before the death needs the whole window's hazard); only the
        // draws stop.
        for kid in kids.iter_mut().filter(|k| k.birth <= step) {
            let age_days = i64::from(step - kid.birth);
            let last_visit = open.and_then(|c| c.visits.iter().filter(|v| **v <= step).max());
            let x = TruthInputs {
                age_days,
                sleep: Some(kid.sleep),
                case_type: period.map_or(1, |p| p.ty),
                disability: Some(kid.disability),
                caregiver_age: Some(caregiver_age),
                mental_health: mental,
                substance_use: substance,
                domestic_violence: dv,
                household_assessed: true,
                unrelated_adult: Some(adult_in_home(step)),
                prior_reports,
                prior_substantiations: Some(prior_subs),
                prior_removals: Some(prior_removals),
                children_in_home: Some(in_home.max(1)),
                days_since_last_visit: Some(match (open, last_visit) {
                    (Some(_), Some(v)) => i64::from(step - v),
                    (Some(c), None) => i64::from(step - c.open),
                    (None, _) => 60,
                }),
            };
            let mut z = truth::logit(&x);
            if open.is_none() {
                z += NO_CASE_LOG_HAZARD;
            }
            // The truth's yearly probability as a hazard, spread evenly over the year.
            let hazard = -(1.0 - truth::sigmoid(z)).ln() * f64::from(STEP_DAYS) / 365.0;
            if keep_truth {
                t.truth.push(TruthRow {
                    child: kid.id.clone(),
                    step,
                    hazard,
                    died: None,
                });
            }
            if kid.died.is_none() && chance(r, 1.0 - (-hazard).exp()) {
                let occurred = step + between(r, 0, STEP_DAYS);
                let rec = occurred + lag(r, 10.0, 120);
                let severity = ["fatality", "near_fatality", "serious_injury"]
                    [pick_weighted(r, [0.2, 0.3, 0.5].into_iter())];
                if rec <= t1 && occurred <= t1 {
                    t.incidents.push(IncidentRow {
                        id: format!("I{f:07}-{n_incident}"),
                        child: kid.id.clone(),
                        occurred,
                        recorded: rec,
                        severity,
                        maltreatment: Some(chance(r, 0.6)),
                    });
                    n_incident += 1;
                    after_incident(&mut t.reports[first_report..], occurred, t1, r);
                }
                if severity == "fatality" {
                    kid.died = Some(occurred);
                }
            }
        }
        step += STEP_DAYS;
    }
    for row in &mut t.truth[first_truth..] {
        row.died = kids.iter().find(|k| k.id == row.child).and_then(|k| k.died);
    }
}

/// What a critical incident does to the family's open findings: a report
/// received before it whose finding was not yet on record is found
/// substantiated, and recorded a week or two after the incident. (Findings
/// written after a child is hurt are the classic leak of the future into a
/// model built without knowledge dates.)
fn after_incident(reports: &mut [ReportRow], occurred: i32, t1: i32, r: &mut Pcg64Mcg) {
    for rp in reports.iter_mut() {
        let unknown_then = rp.disposition_recorded.is_none_or(|d| d > occurred);
        let open_finding = !matches!(rp.disposition, Some("screened_out"));
        if rp.received < occurred && unknown_then && open_finding {
            let recorded = occurred + 1 + lag(r, 10.0, 60);
            if recorded <= t1 {
                rp.disposition = Some("substantiated");
                rp.disposed = Some(rp.disposed.unwrap_or(occurred).min(recorded));
                rp.disposition_recorded = Some(recorded);
            }
        }
    }
}

fn add_person(
    t: &mut Tables,
    id: String,
    birth: i32,
    sex: Option<&'static str>,
    race: Option<usize>,
    disability: Option<bool>,
) {
    t.persons.push(PersonRow {
        id,
        birth,
        sex,
        race: race.map(|g| RACE_GROUPS[g].0),
        disability,
    });
}

fn finish(t: Tables, extracted_on: NaiveDate) -> World {
    // One column from the rows of a table: a value per row, or a date (days
    // since 1970, optional) per row.
    macro_rules! column {
        ($rows:expr, $name:literal, |$r:ident| $value:expr) => {
            Column::new(
                $name.into(),
                $rows.iter().map(|$r| $value).collect::<Vec<_>>(),
            )
        };
    }
    macro_rules! dates {
        ($rows:expr, $name:literal, |$r:ident| $value:expr) => {
            Column::new(
                $name.into(),
                $rows
                    .iter()
                    .map(|$r| -> Option<i32> { $value })
                    .collect::<Vec<_>>(),
            )
            .cast(&DataType::Date)
            .expect("i32 to date")
        };
    }
    let frame = |cols: Vec<Column>| DataFrame::new_infer_height(cols).expect("one height");
    let tables = vec![
        frame(vec![
            column!(t.persons, "person_id", |r| r.id.as_str()),
            dates!(t.persons, "birth_date", |r| Some(r.birth)),
            column!(t.persons, "sex", |r| r.sex),
            column!(t.persons, "race_ethnicity", |r| r.race),
            column!(t.persons, "disability", |r| r.disability),
        ]),
        frame(vec![
            column!(t.periods, "case_id", |r| r.case_id.as_str()),
            column!(t.periods, "case_type", |r| r.case_type),
            column!(t.periods, "office", |r| r.office),
            column!(t.periods, "supervisor_id", |r| r.supervisor.as_str()),
            column!(t.periods, "worker_id", |r| r.worker.as_str()),
            dates!(t.periods, "start_date", |r| Some(r.start)),
            dates!(t.periods, "end_date", |r| r.end),
            dates!(t.periods, "recorded_on", |r| Some(r.recorded)),
        ]),
        frame(vec![
            column!(t.members, "case_id", |r| r.case_id.as_str()),
            column!(t.members, "person_id", |r| r.person.as_str()),
            column!(t.members, "role", |r| r.role),
            column!(t.members, "in_home", |r| r.in_home),
            dates!(t.members, "start_date", |r| Some(r.start)),
            dates!(t.members, "end_date", |r| r.end),
            dates!(t.members, "recorded_on", |r| Some(r.recorded)),
        ]),
        frame(vec![
            column!(t.reports, "report_id", |r| r.id.as_str()),
            column!(t.reports, "child_id", |r| r.child.as_str()),
            dates!(t.reports, "received_on", |r| Some(r.received)),
            dates!(t.reports, "recorded_on", |r| Some(r.recorded)),
            column!(t.reports, "disposition", |r| r.disposition),
            dates!(t.reports, "disposed_on", |r| r.disposed),
            dates!(t.reports, "disposition_recorded_on", |r| r
                .disposition_recorded),
        ]),
        frame(vec![
            column!(t.removals, "removal_id", |r| r.id.as_str()),
            column!(t.removals, "child_id", |r| r.child.as_str()),
            dates!(t.removals, "removed_on", |r| Some(r.removed)),
            dates!(t.removals, "recorded_on", |r| Some(r.recorded)),
            dates!(t.removals, "discharged_on", |r| r.discharged),
        ]),
        frame(vec![
            column!(t.contacts, "contact_id", |r| r.id.as_str()),
            column!(t.contacts, "case_id", |r| r.case_id.as_str()),
            column!(t.contacts, "person_id", |r| r.person.as_deref()),
            dates!(t.contacts, "contact_on", |r| Some(r.on)),
            column!(t.contacts, "kind", |r| r.kind),
            dates!(t.contacts, "recorded_on", |r| Some(r.recorded)),
        ]),
        frame(vec![
            column!(t.assessments, "assessment_id", |r| r.id.as_str()),
            column!(t.assessments, "case_id", |r| r.case_id.as_str()),
            column!(t.assessments, "child_id", |r| r.child.as_deref()),
            dates!(t.assessments, "assessed_on", |r| Some(r.assessed)),
            dates!(t.assessments, "approved_on", |r| Some(r.approved)),
            column!(t.assessments, "sleep_environment", |r| r.sleep),
            column!(t.assessments, "parental_mental_health", |r| r.mental_health),
            column!(t.assessments, "parental_substance_use", |r| r.substance_use),
            column!(t.assessments, "domestic_violence", |r| r.domestic_violence),
        ]),
        frame(vec![
            column!(t.incidents, "incident_id", |r| r.id.as_str()),
            column!(t.incidents, "child_id", |r| r.child.as_str()),
            dates!(t.incidents, "occurred_on", |r| Some(r.occurred)),
            dates!(t.incidents, "recorded_on", |r| Some(r.recorded)),
            column!(t.incidents, "severity", |r| r.severity),
            column!(t.incidents, "maltreatment", |r| r.maltreatment),
        ]),
    ];
    let truth = frame(vec![
        column!(t.truth, "child_id", |r| r.child.as_str()),
        dates!(t.truth, "step_start", |r| Some(r.step)),
        column!(t.truth, "hazard", |r| r.hazard),
        dates!(t.truth, "died_on", |r| r.died),
    ]);
    World {
        extracted_on,
        tables,
        truth,
    }
}

/// How a row's truth is read from the hazard table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TruthKind {
    /// Along the child's actual path through the window (the state changing
    /// as it did: the case closing, the child ageing, new reports).
    Path,
    /// The hazard of the step holding the date, as if the state stayed as it
    /// was on the date for the whole window: what the true state on the
    /// date alone says (still including what was true but not recorded).
    AtDate,
}

/// The world's true probability of an incident in `(date, date + window]`
/// for each `(child_id, snapshot_date)` row of `rows`: one minus the
/// exponential of the hazard over the window (each step's hazard counted for
/// the days of the step inside the window); 0 for a child who died on or
/// before the date. Returns `true_probability` aligned with `rows`.
pub fn true_probability(
    truth: &DataFrame,
    rows: &DataFrame,
    window_days: i32,
) -> PolarsResult<Vec<f64>> {
    true_probability_of(truth, rows, window_days, TruthKind::Path)
}

/// [`true_probability`], read the way `kind` says.
pub fn true_probability_of(
    truth: &DataFrame,
    rows: &DataFrame,
    window_days: i32,
    kind: TruthKind,
) -> PolarsResult<Vec<f64>> {
    use std::collections::HashMap;
    let ids = truth.column("child_id")?.str()?;
    let steps = truth.column("step_start")?.date()?.physical();
    let hazards = truth.column("hazard")?.f64()?;
    let died = truth.column("died_on")?.date()?.physical();
    /// A child's death day, if any, and hazard per step.
    type Path = (Option<i32>, Vec<(i32, f64)>);
    let mut by_child: HashMap<&str, Path> = HashMap::new();
    for (((id, s), h), dd) in ids
        .iter()
        .zip(steps.iter())
        .zip(hazards.iter())
        .zip(died.iter())
    {
        if let (Some(id), Some(s), Some(h)) = (id, s, h) {
            let e = by_child.entry(id).or_default();
            e.0 = dd;
            e.1.push((s, h));
        }
    }
    let child = rows.column("child_id")?.str()?;
    let date = rows.column("snapshot_date")?.date()?.physical();
    let mut out = Vec::with_capacity(rows.height());
    for (c, d) in child.iter().zip(date.iter()) {
        let (Some(c), Some(d)) = (c, d) else {
            out.push(f64::NAN);
            continue;
        };
        let total: f64 = by_child.get(c).map_or(0.0, |(died, v)| {
            if died.is_some_and(|x| x <= d) {
                return 0.0;
            }
            if kind == TruthKind::AtDate {
                let now = v.iter().find(|&&(s, _)| s <= d && d < s + STEP_DAYS);
                return now.map_or(0.0, |&(_, h)| {
                    h * f64::from(window_days) / f64::from(STEP_DAYS)
                });
            }
            window_hazard(v.iter().copied(), d, window_days)
        });
        out.push(1.0 - (-total).exp());
    }
    Ok(out)
}

/// The expected incidents over days `(d, d + window]` from a child's hazard
/// per step (`(step_start, hazard)`), each step counted for its days inside
/// the window.
fn window_hazard(steps: impl Iterator<Item = (i32, f64)>, d: i32, window_days: i32) -> f64 {
    // Days (d, d + window] are days d+1 ..= d+window.
    let (lo, hi) = (d + 1, d + window_days);
    steps
        .map(|(s, h)| {
            let overlap = (hi.min(s + STEP_DAYS - 1) - lo.max(s) + 1).max(0);
            h * f64::from(overlap) / f64::from(STEP_DAYS)
        })
        .sum()
}

/// The world's probability of an incident in `(date, date + window]` for
/// each `(child_id, snapshot_date)` row of `rows`, over `futures` simulated
/// futures of the child's family from the date: the truth a model could
/// reach at best, where [`true_probability`] follows the one future that
/// happened and so knows what no one knew on the date.
///
/// Each future keeps everything the family's history had drawn before the
/// date: its true state (recorded or not), and the course already set for
/// what was under way (an open case's length and visits, a finding not yet
/// made, a birth or an adult's move that was to come). It draws again every
/// report after the date, with the cases, removals and visits they bring;
/// the wait for the next report starts again from the date, which is exact
/// because the waits are exponential. So this truth still knows a little
/// more than the date did (the set course), and is a ceiling that no model
/// of what was recorded can pass. The probability is the mean over the
/// futures of one minus the exponential of the window's hazard, and 0 for a
/// child who had died on or before the date. `p` must be the parameters the
/// world was generated with; a child id it did not make gives NaN.
pub fn fair_probability(
    p: &WorldParams,
    rows: &DataFrame,
    window_days: i32,
    futures: u64,
) -> PolarsResult<Vec<f64>> {
    let t1 = epoch_days(p.extracted_on);
    let t0 = t1 - 365 * p.years as i32;
    let child = rows.column("child_id")?.str()?;
    let date = rows.column("snapshot_date")?.date()?.physical();
    // (family, date, row): the rows of one family on one date share its futures.
    let family_of =
        |id: &str| -> Option<u64> { id.strip_prefix('P')?.split('-').next()?.parse().ok() };
    let mut keyed: Vec<(u64, i32, usize)> = child
        .iter()
        .zip(date.iter())
        .enumerate()
        .filter_map(|(i, (c, d))| Some((family_of(c?)?, d?, i)))
        .collect();
    keyed.sort_unstable();
    let groups: Vec<&[(u64, i32, usize)]> =
        keyed.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)).collect();
    let per_group: Vec<Vec<(usize, f64)>> = groups
        .par_iter()
        .map(|g| {
            let (f, d) = (g[0].0, g[0].1);
            let ids: Vec<&str> = g
                .iter()
                .map(|&(_, _, i)| child.get(i).unwrap_or(""))
                .collect();
            let mut actual = Tables::default();
            family(p.seed, f, t0, t1, true, None, &mut actual);
            let mut sum = vec![0.0; g.len()];
            for future in 0..futures {
                let mut t = Tables::default();
                family(
                    p.seed,
                    f,
                    t0,
                    t1,
                    true,
                    Some(Fork { from: d, future }),
                    &mut t,
                );
                for (j, id) in ids.iter().enumerate() {
                    let steps = t
                        .truth
                        .iter()
                        .filter(|r| r.child == *id)
                        .map(|r| (r.step, r.hazard));
                    sum[j] += 1.0 - (-window_hazard(steps, d, window_days)).exp();
                }
            }
            g.iter()
                .zip(ids)
                .zip(sum)
                .map(|((&(_, _, i), id), total)| {
                    let mine = actual.truth.iter().find(|r| r.child == id);
                    let value = match mine {
                        None => f64::NAN,
                        Some(r) if r.died.is_some_and(|x| x <= d) => 0.0,
                        Some(_) => total / futures.max(1) as f64,
                    };
                    (i, value)
                })
                .collect()
        })
        .collect();
    let mut out = vec![f64::NAN; rows.height()];
    for (i, v) in per_group.into_iter().flatten() {
        out[i] = v;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The span of a two-year world ending on 2025-12-31.
    fn span() -> (i32, i32) {
        let t1 = epoch_days(NaiveDate::from_ymd_opt(2025, 12, 31).expect("valid date"));
        (t1 - 730, t1)
    }

    fn history(f: u64, fork: Option<Fork>) -> Tables {
        let (t0, t1) = span();
        let mut t = Tables::default();
        family(7, f, t0, t1, true, fork, &mut t);
        t
    }

    fn hazards(t: &Tables) -> Vec<(String, i32, f64)> {
        t.truth
            .iter()
            .map(|r| (r.child.clone(), r.step, r.hazard))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// A forked future never reaches back: every step that starts
        /// before the fork has the hazard the family's own history gave it,
        /// whatever the fork day and future.
        #[test]
        fn a_fork_keeps_every_hazard_before_its_day(f in 0u64..5_000, at in 0i32..730, future in 0u64..8) {
            let (t0, _) = span();
            let from = t0 + at;
            let own = hazards(&history(f, None));
            let forked = hazards(&history(f, Some(Fork { from, future })));
            let before = |v: &[(String, i32, f64)]| -> Vec<(String, i32, f64)> {
                v.iter().filter(|r| r.1 < from).cloned().collect()
            };
            prop_assert_eq!(before(&own), before(&forked));
        }
    }

    /// A fork after the extract date changes no hazard; a fork inside the
    /// span draws the future again (some families' hazards after the day
    /// differ), and the reports it draws come at the rate the history's do.
    #[test]
    fn a_fork_draws_the_future_again_at_the_same_rate() {
        let (t0, t1) = span();
        for f in 0..50 {
            assert_eq!(
                hazards(&history(f, None)),
                hazards(&history(
                    f,
                    Some(Fork {
                        from: t1 + 10,
                        future: 0
                    })
                )),
                "family {f}"
            );
        }
        let from = t0 + 200;
        let reports_after = |t: &Tables| {
            t.reports
                .iter()
                .filter(|r| (from..from + 365).contains(&r.received))
                .count()
        };
        let (mut own, mut forked, mut changed) = (0, 0, 0);
        for f in 0..3_000 {
            let a = history(f, None);
            let b = history(f, Some(Fork { from, future: 1 }));
            own += reports_after(&a);
            forked += reports_after(&b);
            changed += usize::from(hazards(&a) != hazards(&b));
        }
        assert!(
            changed > 300,
            "{changed} of 3,000 families' futures changed"
        );
        // Two draws of one law: within 8% of each other (about 3 standard
        // errors for the ~1,500 reports each counts). A fork that kept the
        // pending wait instead of drawing it again would have the same
        // first report after the day, and one that waited from the last
        // report would have fewer.
        let ratio = forked as f64 / own as f64;
        assert!((0.92..1.08).contains(&ratio), "{forked} against {own}");
    }
}
