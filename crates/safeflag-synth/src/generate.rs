//! Families, children and snapshots, generated in parallel and deterministically.
//!
//! Every random draw comes from a PCG stream keyed by `(seed, family)` for a
//! household's static facts or `(seed, family, snapshot)` for what changes
//! between snapshots. So a family that is open on several snapshot dates keeps
//! its identifiers, birth dates and history, the output does not depend on the
//! number of threads, and any block of families can be generated on its own.

use chrono::NaiveDate;
use polars::prelude::*;
use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;
use safeflag_core::contract::{CASE_TYPES, CONCERN_LEVELS, OUTCOME, SLEEP_ENVIRONMENTS};

use crate::truth::{self, SleepIdx, TruthInputs};

/// The name of the true-probability column of the truth output.
pub const TRUE_PROBABILITY: &str = "true_probability";

/// Offices, with their share of families.
pub const OFFICES: [(&str, &str, f64); 6] = [
    ("Northside", "NS", 0.24),
    ("Riverside", "RS", 0.20),
    ("Eastgate", "EG", 0.18),
    ("Westfield", "WF", 0.15),
    ("Central", "CE", 0.13),
    ("Lakeshore", "LS", 0.10),
];
/// Supervisors per office.
pub const SUPERVISORS_PER_OFFICE: usize = 6;
/// Workers per supervisor.
pub const WORKERS_PER_SUPERVISOR: usize = 5;
/// Race/ethnicity groups with their share of families.
pub const RACE_GROUPS: [(&str, f64); 6] = [
    ("White", 0.42),
    ("Black", 0.26),
    ("Hispanic", 0.20),
    ("Multiracial", 0.06),
    ("Asian", 0.03),
    ("American Indian or Alaska Native", 0.03),
];
/// Share of a snapshot's families that were open on the previous snapshot too.
pub const CARRY_OVER: f64 = 0.3;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthParams {
    /// Total rows (children on snapshot dates) across all snapshots.
    pub rows: usize,
    /// The seed; the same seed gives the same data.
    pub seed: u64,
    /// Number of snapshot dates.
    pub snapshots: usize,
    /// The first (or only) snapshot date.
    pub first_date: NaiveDate,
    /// Days between snapshot dates.
    pub interval_days: i64,
    /// Whether to include `outcome_critical_incident`.
    pub outcome: bool,
    /// The ground truth the outcomes are drawn from.
    pub world: truth::RiskWorld,
}

impl Default for SynthParams {
    fn default() -> Self {
        SynthParams {
            rows: 10_000,
            seed: 42,
            snapshots: 1,
            first_date: NaiveDate::from_ymd_opt(2025, 11, 21).expect("valid date"),
            interval_days: 91,
            outcome: true,
            world: truth::RiskWorld::Banded,
        }
    }
}

/// Generated data: the cases (contract columns) and each row's true probability.
#[derive(Debug, Clone)]
pub struct Synthetic {
    /// Contract columns, typed (dates as Date, flags as Boolean, counts as Int64).
    pub cases: DataFrame,
    /// `child_id`, `snapshot_date`, `true_probability` for every row of `cases`.
    pub truth: DataFrame,
}

/// One snapshot's slice of the family sequence.
#[derive(Debug, Clone, Copy)]
struct SnapshotPlan {
    index: usize,
    date: i32,
    first_family: u64,
    families: u64,
    /// Rows wanted on this snapshot (the last family may be cut short).
    rows: usize,
}

const FAMILIES_PER_BLOCK: u64 = 4096;
const STREAM_STATIC: u64 = 0;

/// Generates synthetic contract data.
pub fn generate(params: &SynthParams) -> Synthetic {
    let plans = plan_snapshots(params);
    // Blocks of families per snapshot, generated in parallel, concatenated in order.
    let mut jobs = Vec::new();
    for plan in &plans {
        let mut f = 0;
        let mut rows_before = 0usize;
        while f < plan.families {
            let n = FAMILIES_PER_BLOCK.min(plan.families - f);
            jobs.push((*plan, plan.first_family + f, n, rows_before));
            rows_before += (0..n)
                .map(|i| children_of(params.seed, plan.first_family + f + i))
                .sum::<usize>();
            f += n;
        }
    }
    let blocks: Vec<(DataFrame, Vec<f64>)> = jobs
        .par_iter()
        .map(|&(plan, first, n, rows_before)| {
            generate_block(params, &plans, plan, first, n, rows_before)
        })
        .collect();

    let mut cases: Option<DataFrame> = None;
    let mut probs = Vec::with_capacity(params.rows);
    for (df, p) in blocks {
        probs.extend(p);
        match &mut cases {
            None => cases = Some(df),
            Some(acc) => {
                acc.vstack_mut_owned(df).expect("blocks share a schema");
            }
        }
    }
    let cases = cases.unwrap_or_else(|| Block::with_capacity(0).finish(params.outcome));
    debug_assert_eq!(cases.height(), params.rows);
    let truth = DataFrame::new(
        cases.height(),
        vec![
            cases.column("child_id").expect("column").clone(),
            cases.column("snapshot_date").expect("column").clone(),
            Column::new(TRUE_PROBABILITY.into(), probs),
        ],
    )
    .expect("same height");
    Synthetic { cases, truth }
}

fn plan_snapshots(params: &SynthParams) -> Vec<SnapshotPlan> {
    let first = safeflag_core::days::to_days(params.first_date);
    let snapshots = params.snapshots.max(1);
    let mut plans = Vec::with_capacity(snapshots);
    let mut first_family = 0u64;
    for s in 0..snapshots {
        let rows = params.rows / snapshots + usize::from(s < params.rows % snapshots);
        let mut families = 0u64;
        let mut got = 0usize;
        while got < rows {
            got += children_of(params.seed, first_family + families);
            families += 1;
        }
        plans.push(SnapshotPlan {
            index: s,
            date: first + (s as i64 * params.interval_days) as i32,
            first_family,
            families,
            rows,
        });
        // The next snapshot keeps the last CARRY_OVER share of this one's families.
        first_family += ((families as f64) * (1.0 - CARRY_OVER)).round() as u64;
    }
    plans
}

pub(crate) fn stream(seed: u64, family: u64, snapshot: u64) -> Pcg64Mcg {
    // SplitMix64 finaliser over the key, so nearby keys give unrelated streams.
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(family.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(snapshot.wrapping_mul(0x94D0_49BB_1331_11EB));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Pcg64Mcg::seed_from_u64(z ^ (z >> 31))
}

/// Children in a family's case: 1 (45%), 2 (30%), 3 (15%) or 4 (10%).
fn children_of(seed: u64, family: u64) -> usize {
    let u = unit(&mut stream(seed, family, STREAM_STATIC));
    pick_cumulative(u, &[0.45, 0.75, 0.90]) + 1
}

pub(crate) fn unit(r: &mut Pcg64Mcg) -> f64 {
    (r.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

pub(crate) fn chance(r: &mut Pcg64Mcg, p: f64) -> bool {
    unit(r) < p
}

/// Index of the first cumulative bound above `u` (or the last index + 1).
pub(crate) fn pick_cumulative(u: f64, bounds: &[f64]) -> usize {
    bounds.iter().position(|&b| u < b).unwrap_or(bounds.len())
}

pub(crate) fn pick_weighted(r: &mut Pcg64Mcg, weights: impl Iterator<Item = f64>) -> usize {
    let u = unit(r);
    let mut acc = 0.0;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        acc += w;
        last = i;
        if u < acc {
            return i;
        }
    }
    last
}

/// Geometric count with P(k) = (1-q) q^k.
fn geometric(r: &mut Pcg64Mcg, q: f64, cap: i64) -> i64 {
    let u = 1.0 - unit(r); // in (0, 1]
    ((u.ln() / q.ln()).floor() as i64).min(cap)
}

fn binomial(r: &mut Pcg64Mcg, n: i64, p: f64) -> i64 {
    (0..n).filter(|_| chance(r, p)).count() as i64
}

/// Household facts that do not change between snapshots.
struct Family {
    children: usize,
    office: usize,
    supervisor: usize,
    worker: usize,
    case_type: u8,
    race: Option<usize>,
    caregiver_age: Option<i64>,
    mental_health: u8,
    substance_use: u8,
    domestic_violence: bool,
    household_assessed: bool,
    unrelated_adult: Option<bool>,
    prior_reports: i64,
    prior_substantiations: Option<i64>,
    prior_removals: Option<i64>,
    children_in_home: Option<i64>,
    kids: [Child; 4],
}

#[derive(Default, Clone, Copy)]
struct Child {
    age_at_entry: i64,
    sex: Option<&'static str>,
    disability: Option<bool>,
    race_missing: bool,
}

fn family(seed: u64, f: u64) -> Family {
    let r = &mut stream(seed, f, STREAM_STATIC);
    let children = pick_cumulative(unit(r), &[0.45, 0.75, 0.90]) + 1;
    let office = pick_weighted(r, OFFICES.iter().map(|o| o.2));
    let supervisor = (r.next_u64() % SUPERVISORS_PER_OFFICE as u64) as usize;
    let worker = (r.next_u64() % WORKERS_PER_SUPERVISOR as u64) as usize;
    let case_type = pick_cumulative(unit(r), &[0.35, 0.80]) as u8;
    let race = pick_weighted(r, RACE_GROUPS.iter().map(|g| g.1));
    let caregiver_age = if chance(r, 0.08) {
        15 + (unit(r) * 5.0) as i64
    } else {
        (20 + (-9.0 * (1.0 - unit(r)).ln()) as i64).min(65)
    };
    let caregiver_age = (!chance(r, 0.06)).then_some(caregiver_age);
    let mental_health = pick_cumulative(unit(r), &[0.60, 0.82]) as u8;
    let substance_use = pick_cumulative(unit(r), &[0.58, 0.78]) as u8;
    let domestic_violence = chance(r, 0.22);
    // Contract 1.1: a quarter of investigations have no approved assessment yet.
    let household_assessed = case_type != 0 || !chance(r, 0.25);
    let unrelated_adult = chance(r, 0.12);
    let unrelated_adult = (!chance(r, 0.15)).then_some(unrelated_adult);
    // Surveillance bias: more reports on Black and American Indian families,
    // with no change in their true risk given the same facts.
    let q = if matches!(
        RACE_GROUPS[race].0,
        "Black" | "American Indian or Alaska Native"
    ) {
        0.66
    } else {
        0.60
    };
    let prior_reports = geometric(r, q, 30);
    let subs = binomial(r, prior_reports, 0.35);
    let removals = binomial(r, subs, 0.25);
    let prior_substantiations = (!chance(r, 0.08)).then_some(subs);
    let prior_removals = (!chance(r, 0.10)).then_some(removals);
    let children_in_home = children as i64 + geometric(r, 0.35, 8);
    let children_in_home = (!chance(r, 0.05)).then_some(children_in_home);
    let mut kids = [Child::default(); 4];
    for kid in kids.iter_mut().take(children) {
        // Ages at entry skewed young, as in open caseloads.
        let u = unit(r);
        let v = unit(r);
        kid.age_at_entry = match pick_cumulative(u, &[0.22, 0.34, 0.60]) {
            0 => (v * 183.0) as i64,
            1 => 183 + (v * 182.0) as i64,
            2 => 365 + (v * 730.0) as i64,
            _ => 1095 + (v * 5475.0) as i64,
        };
        kid.sex = match pick_cumulative(unit(r), &[0.49, 0.98, 0.99]) {
            0 => Some("F"),
            1 => Some("M"),
            2 => Some("U"),
            _ => None,
        };
        let disabled = chance(r, 0.08);
        kid.disability = (!chance(r, 0.10)).then_some(disabled);
        kid.race_missing = chance(r, 0.04);
    }
    Family {
        children,
        office,
        supervisor,
        worker,
        case_type,
        race: Some(race),
        caregiver_age,
        mental_health,
        substance_use,
        domestic_violence,
        household_assessed,
        unrelated_adult,
        prior_reports,
        prior_substantiations,
        prior_removals,
        children_in_home,
        kids,
    }
}

/// Sleep environment for a child of `age_days`; `None` is an empty field.
fn sleep_for(r: &mut Pcg64Mcg, age_days: i64) -> Option<SleepIdx> {
    // crib, adult_bed, bed_sharing, sofa_chair, other_unsafe, unknown, not_assessed, empty
    let weights: [f64; 8] = if age_days < 730 {
        [0.55, 0.10, 0.12, 0.03, 0.05, 0.07, 0.06, 0.02]
    } else {
        [0.05, 0.07, 0.05, 0.01, 0.02, 0.20, 0.55, 0.05]
    };
    let i = pick_weighted(r, weights.into_iter());
    (i < 7).then_some(i as SleepIdx)
}

struct Block {
    case_id: StringChunkedBuilder,
    child_id: StringChunkedBuilder,
    snapshot_date: Vec<i32>,
    office: StringChunkedBuilder,
    supervisor_id: StringChunkedBuilder,
    worker_id: StringChunkedBuilder,
    case_type: StringChunkedBuilder,
    birth_date: Vec<i32>,
    sex: StringChunkedBuilder,
    race: StringChunkedBuilder,
    disability: Vec<Option<bool>>,
    sleep: StringChunkedBuilder,
    caregiver_age: Vec<Option<i64>>,
    mental_health: StringChunkedBuilder,
    substance_use: StringChunkedBuilder,
    domestic_violence: Vec<Option<bool>>,
    unrelated_adult: Vec<Option<bool>>,
    prior_reports: Vec<i64>,
    prior_substantiations: Vec<Option<i64>>,
    prior_removals: Vec<Option<i64>>,
    children_in_home: Vec<Option<i64>>,
    days_since_last_visit: Vec<Option<i64>>,
    outcome: Vec<bool>,
}

impl Block {
    fn with_capacity(n: usize) -> Block {
        let s = |name: &str| StringChunkedBuilder::new(name.into(), n);
        Block {
            case_id: s("case_id"),
            child_id: s("child_id"),
            snapshot_date: Vec::with_capacity(n),
            office: s("office"),
            supervisor_id: s("supervisor_id"),
            worker_id: s("worker_id"),
            case_type: s("case_type"),
            birth_date: Vec::with_capacity(n),
            sex: s("child_sex"),
            race: s("child_race_ethnicity"),
            disability: Vec::with_capacity(n),
            sleep: s("sleep_environment"),
            caregiver_age: Vec::with_capacity(n),
            mental_health: s("parental_mental_health"),
            substance_use: s("parental_substance_use"),
            domestic_violence: Vec::with_capacity(n),
            unrelated_adult: Vec::with_capacity(n),
            prior_reports: Vec::with_capacity(n),
            prior_substantiations: Vec::with_capacity(n),
            prior_removals: Vec::with_capacity(n),
            children_in_home: Vec::with_capacity(n),
            days_since_last_visit: Vec::with_capacity(n),
            outcome: Vec::with_capacity(n),
        }
    }

    fn finish(self, outcome: bool) -> DataFrame {
        let date = |name: &str, v: Vec<i32>| {
            Column::new(name.into(), v)
                .cast(&DataType::Date)
                .expect("i32 to date")
        };
        let mut columns = vec![
            self.case_id.finish().into_column(),
            self.child_id.finish().into_column(),
            date("snapshot_date", self.snapshot_date),
            self.office.finish().into_column(),
            self.supervisor_id.finish().into_column(),
            self.worker_id.finish().into_column(),
            self.case_type.finish().into_column(),
            date("child_birth_date", self.birth_date),
            self.sex.finish().into_column(),
            self.race.finish().into_column(),
            Column::new("child_disability".into(), self.disability),
            self.sleep.finish().into_column(),
            Column::new("caregiver_age".into(), self.caregiver_age),
            self.mental_health.finish().into_column(),
            self.substance_use.finish().into_column(),
            Column::new("domestic_violence".into(), self.domestic_violence),
            Column::new("unrelated_adult_in_home".into(), self.unrelated_adult),
            Column::new("prior_reports".into(), self.prior_reports),
            Column::new("prior_substantiations".into(), self.prior_substantiations),
            Column::new("prior_removals".into(), self.prior_removals),
            Column::new("children_in_home".into(), self.children_in_home),
            Column::new("days_since_last_visit".into(), self.days_since_last_visit),
        ];
        if outcome {
            columns.push(Column::new(OUTCOME.into(), self.outcome));
        }
        DataFrame::new_infer_height(columns).expect("columns of one block have one height")
    }
}

fn generate_block(
    params: &SynthParams,
    plans: &[SnapshotPlan],
    plan: SnapshotPlan,
    first: u64,
    n: u64,
    rows_before: usize,
) -> (DataFrame, Vec<f64>) {
    let seed = params.seed;
    let mut b = Block::with_capacity(n as usize * 3);
    let mut probs = Vec::with_capacity(n as usize * 3);
    let mut rows = rows_before;
    let mut buf = String::new();
    use std::fmt::Write as _;
    for f in first..first + n {
        if rows >= plan.rows {
            break;
        }
        let fam = family(seed, f);
        // The snapshot on which this family first appeared fixes its birth dates.
        let entry = plans
            .iter()
            .find(|p| f >= p.first_family && f < p.first_family + p.families)
            .map_or(plan.date, |p| p.date);
        let dynamic = &mut stream(seed, f, 1 + plan.index as u64);
        let days_since_last_visit = (-18.0 * (1.0 - unit(dynamic)).ln()) as i64;
        let days_since_last_visit =
            (!chance(dynamic, 0.04)).then_some(days_since_last_visit.min(365));
        let (office, office_code, _) = OFFICES[fam.office];
        for (j, kid) in fam.kids.iter().take(fam.children).enumerate() {
            if rows >= plan.rows {
                break;
            }
            rows += 1;
            let birth = entry - kid.age_at_entry as i32;
            let age_days = (plan.date - birth) as i64;
            let sleep = sleep_for(dynamic, age_days);
            let x = TruthInputs {
                age_days,
                sleep,
                case_type: fam.case_type,
                disability: kid.disability,
                caregiver_age: fam.caregiver_age,
                mental_health: fam.mental_health,
                substance_use: fam.substance_use,
                domestic_violence: fam.domestic_violence,
                household_assessed: fam.household_assessed,
                unrelated_adult: fam.unrelated_adult,
                prior_reports: fam.prior_reports,
                prior_substantiations: fam.prior_substantiations,
                prior_removals: fam.prior_removals,
                children_in_home: fam.children_in_home,
                days_since_last_visit,
            };
            let p = truth::sigmoid(params.world.logit(&x));
            probs.push(p);
            b.outcome.push(chance(dynamic, p));

            buf.clear();
            let _ = write!(buf, "C{f:07}");
            b.case_id.append_value(&buf);
            buf.clear();
            let _ = write!(buf, "K{:08}", f * 4 + j as u64);
            b.child_id.append_value(&buf);
            b.snapshot_date.push(plan.date);
            b.office.append_value(office);
            buf.clear();
            let _ = write!(buf, "S-{office_code}-{:02}", fam.supervisor + 1);
            b.supervisor_id.append_value(&buf);
            buf.clear();
            let _ = write!(
                buf,
                "W-{office_code}-{:02}-{}",
                fam.supervisor + 1,
                fam.worker + 1
            );
            b.worker_id.append_value(&buf);
            b.case_type.append_value(CASE_TYPES[fam.case_type as usize]);
            b.birth_date.push(birth);
            b.sex.append_option(kid.sex);
            b.race.append_option(
                fam.race
                    .filter(|_| !kid.race_missing)
                    .map(|g| RACE_GROUPS[g].0),
            );
            b.disability.push(kid.disability);
            b.sleep
                .append_option(sleep.map(|s| SLEEP_ENVIRONMENTS[s as usize]));
            b.caregiver_age.push(fam.caregiver_age);
            let assessed = fam.household_assessed;
            b.mental_health
                .append_option(assessed.then(|| CONCERN_LEVELS[fam.mental_health as usize]));
            b.substance_use
                .append_option(assessed.then(|| CONCERN_LEVELS[fam.substance_use as usize]));
            b.domestic_violence
                .push(assessed.then_some(fam.domestic_violence));
            b.unrelated_adult.push(fam.unrelated_adult);
            b.prior_reports.push(fam.prior_reports);
            b.prior_substantiations.push(fam.prior_substantiations);
            b.prior_removals.push(fam.prior_removals);
            b.children_in_home.push(fam.children_in_home);
            b.days_since_last_visit.push(days_since_last_visit);
        }
    }
    (b.finish(params.outcome), probs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(rows: usize, snapshots: usize) -> SynthParams {
        SynthParams {
            rows,
            snapshots,
            ..SynthParams::default()
        }
    }

    #[test]
    fn exact_row_count_and_truth_alignment() {
        for (rows, snaps) in [(1, 1), (7, 1), (10_001, 3), (20_000, 8)] {
            let s = generate(&params(rows, snaps));
            assert_eq!(s.cases.height(), rows);
            assert_eq!(s.truth.height(), rows);
        }
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = generate(&params(5000, 2));
        let b = generate(&params(5000, 2));
        assert!(a.cases.equals_missing(&b.cases));
        let c = generate(&SynthParams {
            seed: 7,
            ..params(5000, 2)
        });
        assert!(!a.cases.equals_missing(&c.cases));
    }

    #[test]
    fn families_carry_over_between_snapshots_with_the_same_birth_dates() {
        let s = generate(&params(20_000, 2));
        let df = s
            .cases
            .clone()
            .lazy()
            .group_by([col("child_id")])
            .agg([
                col("snapshot_date").n_unique().alias("dates"),
                col("child_birth_date").n_unique().alias("births"),
            ])
            .collect()
            .unwrap();
        let dates = df.column("dates").unwrap().idx().unwrap();
        let births = df.column("births").unwrap().idx().unwrap();
        let repeated = dates.iter().filter(|d| *d == Some(2)).count();
        assert!(repeated > 1000, "children on both snapshots: {repeated}");
        assert!(
            births.iter().all(|b| b == Some(1)),
            "a child keeps its birth date"
        );
    }

    #[test]
    fn child_key_is_unique_per_snapshot() {
        let s = generate(&params(30_000, 3));
        let keys = s
            .cases
            .select(["child_id", "snapshot_date"])
            .unwrap()
            .is_unique()
            .unwrap();
        assert!(keys.all());
    }
}
