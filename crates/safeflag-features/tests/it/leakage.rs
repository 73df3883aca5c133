//! The leakage guards of the splits, on generated data with repeat snapshots.

use std::collections::HashSet;

use chrono::NaiveDate;
use polars::prelude::*;
use safeflag_features::{SplitPlan, split};
use safeflag_synth::{SynthParams, generate};

fn data() -> DataFrame {
    generate(&SynthParams {
        rows: 20_000,
        seed: 5,
        snapshots: 6,
        first_date: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        ..SynthParams::default()
    })
    .cases
}

fn case_set(df: &DataFrame, rows: &[usize]) -> HashSet<String> {
    let ids = df.column("case_id").unwrap().str().unwrap();
    rows.iter()
        .map(|&i| ids.get(i).unwrap().to_string())
        .collect()
}

#[test]
fn time_split_keeps_cases_on_one_side_and_tests_only_after_the_cutoff() {
    let df = data();
    let s = split(&df, &SplitPlan::ByTime { cutoff: None }).unwrap();
    // Every row is accounted for.
    assert_eq!(s.train.len() + s.test.len() + s.excluded.len(), df.height());
    // Carried-over families exist, so the guard has work to do.
    assert!(!s.excluded.is_empty());
    let train = case_set(&df, &s.train);
    let test = case_set(&df, &s.test);
    assert!(train.is_disjoint(&test), "a case on both sides");
    let cutoff = s.cutoff.unwrap();
    let dates = df
        .column("snapshot_date")
        .unwrap()
        .date()
        .unwrap()
        .as_date_iter()
        .collect::<Vec<_>>();
    assert!(
        s.test.iter().all(|&i| dates[i].unwrap() >= cutoff),
        "a test row before the cut-off"
    );
    assert!(
        s.train.iter().all(|&i| dates[i].unwrap() < cutoff),
        "a training row after the cut-off"
    );
    assert!(
        s.excluded
            .iter()
            .all(|&i| train.contains(df.column("case_id").unwrap().str().unwrap().get(i).unwrap()))
    );
    // About a quarter of the rows are on or after the default cut-off.
    let after = (s.test.len() + s.excluded.len()) as f64 / df.height() as f64;
    assert!((0.25..0.5).contains(&after), "{after}");
}

#[test]
fn explicit_cutoff_and_impossible_cutoffs() {
    let df = data();
    let cutoff = NaiveDate::from_ymd_opt(2024, 7, 1).unwrap();
    let s = split(
        &df,
        &SplitPlan::ByTime {
            cutoff: Some(cutoff),
        },
    )
    .unwrap();
    assert_eq!(s.cutoff, Some(cutoff));
    let err = split(
        &df,
        &SplitPlan::ByTime {
            cutoff: Some(NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()),
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("leaves 0 training"), "{err}");
}

#[test]
fn case_split_never_splits_a_case_and_is_deterministic() {
    let df = data();
    let plan = SplitPlan::ByCase {
        test_fraction: 0.3,
        seed: 9,
    };
    let a = split(&df, &plan).unwrap();
    let b = split(&df, &plan).unwrap();
    assert_eq!(a, b);
    assert!(case_set(&df, &a.train).is_disjoint(&case_set(&df, &a.test)));
    let share = a.test.len() as f64 / df.height() as f64;
    assert!((0.25..0.35).contains(&share), "{share}");
    let c = split(
        &df,
        &SplitPlan::ByCase {
            test_fraction: 0.3,
            seed: 10,
        },
    )
    .unwrap();
    assert_ne!(a.test, c.test);
}

#[test]
fn one_snapshot_cannot_be_split_by_time() {
    let df = generate(&SynthParams {
        rows: 500,
        ..SynthParams::default()
    })
    .cases;
    let err = split(&df, &SplitPlan::ByTime { cutoff: None }).unwrap_err();
    assert!(err.to_string().contains("--test-fraction"), "{err}");
}
