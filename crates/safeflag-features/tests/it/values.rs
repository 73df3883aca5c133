//! Each transform gives the value it promises on hand-built cases.

use polars::prelude::*;
use safeflag_features::{FeatureSpec, age_bands, build_matrix};

fn cases() -> DataFrame {
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let snap = [d("2025-06-01"), d("2025-06-01"), d("2025-06-01")];
    let birth = [d("2025-03-01"), d("2024-09-01"), d("2020-01-01")];
    df!(
        "case_id" => ["C1", "C1", "C2"],
        "snapshot_date" => snap,
        "child_birth_date" => birth,
        "case_type" => ["in_home", "in_home", "investigation"],
        "child_disability" => [Some(true), None, Some(false)],
        "sleep_environment" => [Some("sofa_chair"), None, Some("bed_sharing")],
        "caregiver_age" => [Some(18i64), Some(18), None],
        "parental_mental_health" => ["current", "current", "none"],
        "parental_substance_use" => ["none", "none", "history"],
        "domestic_violence" => [true, true, false],
        "unrelated_adult_in_home" => [Some(false), Some(false), None],
        "prior_reports" => [0i64, 0, 3],
        "prior_substantiations" => [Some(0i64), Some(0), None],
        "prior_removals" => [None::<i64>, None, Some(1)],
        "children_in_home" => [Some(2i64), Some(2), Some(12)],
        "days_since_last_visit" => [Some(30i64), Some(30), Some(400)],
        "child_race_ethnicity" => [Some("Black"), Some("Black"), None],
    )
    .unwrap()
}

fn value(m: &safeflag_core::FeatureMatrix, name: &str, row: usize) -> f64 {
    let j = m
        .names()
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("{name}"));
    m.x()[[row, j]]
}

#[test]
fn transforms_compute_what_they_say() {
    let m = build_matrix(&cases(), &FeatureSpec::standard()).unwrap();
    assert_eq!(m.rows(), 3);
    // Row 0: 92 days old on a sofa.
    assert_eq!(value(&m, "age_under_6m", 0), 1.0);
    assert_eq!(value(&m, "age_6_11m", 0), 0.0);
    assert_eq!(value(&m, "sleep_sofa_chair", 0), 1.0);
    assert_eq!(value(&m, "sleep_unsafe", 0), 1.0);
    assert_eq!(value(&m, "age_under_6m_x_sofa_chair", 0), 1.0);
    assert_eq!(value(&m, "age_6_11m_x_sofa_chair", 0), 0.0);
    assert_eq!(value(&m, "young_caregiver", 0), 1.0);
    assert_eq!(value(&m, "disability", 0), 1.0);
    assert_eq!(value(&m, "visit_gap", 0), 30.0 / 120.0);
    assert_eq!(value(&m, "children_in_home", 0), 2.0 / 8.0);
    // Row 1: 9 months old, sleep not recorded, disability not recorded.
    assert_eq!(value(&m, "age_6_11m", 1), 1.0);
    assert_eq!(value(&m, "sleep_unassessed", 1), 1.0);
    assert_eq!(value(&m, "age_6_11m_x_sleep_unassessed", 1), 1.0);
    assert_eq!(value(&m, "disability", 1), 0.0);
    assert_eq!(value(&m, "disability_missing", 1), 1.0);
    // Row 2: 5 years old, capped counts, missing values are 0 plus an indicator.
    assert_eq!(value(&m, "age_1_2y", 2), 0.0);
    assert_eq!(value(&m, "age_under_6m_x_bed_sharing", 2), 0.0);
    assert_eq!(value(&m, "sleep_adult_bed_or_sharing", 2), 1.0);
    assert_eq!(value(&m, "visit_gap", 2), 1.0);
    assert_eq!(value(&m, "children_in_home", 2), 1.0);
    assert!((value(&m, "log_prior_reports", 2) - 4f64.ln()).abs() < 1e-12);
    assert_eq!(value(&m, "any_prior_report", 2), 1.0);
    assert_eq!(value(&m, "any_prior_substantiation", 2), 0.0);
    assert_eq!(value(&m, "prior_substantiations_missing", 2), 1.0);
    assert_eq!(value(&m, "young_caregiver", 2), 0.0);
    assert_eq!(value(&m, "caregiver_age_missing", 2), 1.0);
    assert_eq!(value(&m, "case_investigation", 2), 1.0);
    assert_eq!(value(&m, "substance_use_history", 2), 1.0);
}

#[test]
fn race_is_not_read_even_when_present() {
    let spec = FeatureSpec::standard();
    let with = build_matrix(&cases(), &spec).unwrap();
    let without = build_matrix(&cases().drop("child_race_ethnicity").unwrap(), &spec).unwrap();
    assert_eq!(with, without);
}

#[test]
fn a_missing_input_column_is_named() {
    let err = build_matrix(
        &cases().drop("prior_reports").unwrap(),
        &FeatureSpec::standard(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("prior_reports"), "{err}");
}

#[test]
fn age_band_names() {
    let bands = age_bands(&cases()).unwrap();
    assert_eq!(
        bands,
        vec![
            Some("under 6 months".into()),
            Some("6-11 months".into()),
            Some("3+ years".into())
        ]
    );
}

/// The kernel gives the polars plan's values bit for bit, on the hand-built
/// cases and on every shipped sample (the messy one validated first, so it
/// has missing values everywhere the contract allows them).
#[test]
fn the_kernel_equals_the_polars_plan() {
    use safeflag_features::build_matrix_with_polars;
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data-samples");
    let mut frames = vec![("hand-built".to_string(), cases())];
    for name in ["snapshot.csv", "messy.csv", "training.parquet"] {
        let v = safeflag_ingest::ingest(
            &samples.join(name),
            &safeflag_ingest::IngestOptions::default(),
        )
        .unwrap();
        frames.push((name.to_string(), v.cases));
    }
    let standard = FeatureSpec::standard();
    for (name, df) in frames {
        // The shaped spec too, with knots chosen from the frame itself.
        let y = vec![false; df.height()];
        let rows: Vec<usize> = (0..df.height()).collect();
        let shaped = safeflag_features::shaped_spec(&df, &rows, &y).unwrap();
        assert!(
            shaped.features.len() > standard.features.len() + 14,
            "{name}"
        );
        // And the numbers for trees, their ranges from the frame too.
        let raw = safeflag_features::raw_spec(&df, &rows).unwrap();
        for spec in [&standard, &shaped, &raw] {
            let fast = build_matrix(&df, spec).unwrap();
            let reference = build_matrix_with_polars(&df, spec).unwrap();
            assert_eq!(fast.names(), reference.names(), "{name}");
            assert!(fast.rows() > 0, "{name}");
            for (j, feature) in fast.names().iter().enumerate() {
                let (a, b) = (fast.column(j), reference.column(j));
                let same = a
                    .iter()
                    .zip(b.iter())
                    .all(|(x, y)| x.to_bits() == y.to_bits());
                assert!(same, "{name}: feature {feature} differs");
            }
            // Something to compare: most features take both values somewhere.
            let varying = (0..fast.cols())
                .filter(|&j| fast.column(j).iter().any(|&v| v != fast.column(j)[0]))
                .count();
            assert!(
                varying * 2 > fast.cols() || name == "hand-built",
                "{name}: {varying}"
            );
        }
    }
}

/// A ramp is 0 up to its knot, rises linearly to 1 at the next knot and
/// stays there, and is 0 when its input is missing; a household item's product
/// with a case type is its value where the case is of that type.
#[test]
fn shaped_features_compute_what_they_say() {
    use safeflag_core::feature_spec::Input;
    let shapes = vec![
        (Input::AgeDays, vec![30.0, 120.0, 400.0]),
        (
            Input::Column("days_since_last_visit".into()),
            vec![0.0, 60.0, 120.0],
        ),
        (Input::Column("caregiver_age".into()), vec![16.0, 22.0]),
    ];
    let spec = FeatureSpec::shaped(&shapes);
    let m = build_matrix(&cases(), &spec).unwrap();
    // Ages 92, 273 and 1978 days.
    let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
    // Ramps between consecutive knots: 30 to 120, 120 to 400.
    assert!(close(value(&m, "age_from_30", 0), 62.0 / 90.0));
    assert_eq!(value(&m, "age_from_120", 0), 0.0);
    assert!(close(value(&m, "age_from_120", 1), 153.0 / 280.0));
    assert_eq!(value(&m, "age_from_30", 2), 1.0);
    assert_eq!(value(&m, "visit_gap_from_0", 0), 0.5);
    assert_eq!(value(&m, "visit_gap_from_60", 0), 0.0);
    assert_eq!(value(&m, "visit_gap_from_60", 2), 1.0);
    assert!(close(value(&m, "caregiver_age_from_16", 0), 2.0 / 6.0));
    assert_eq!(value(&m, "caregiver_age_from_16", 2), 0.0, "missing");
    assert_eq!(
        value(&m, "mental_health_current_x_case_investigation", 0),
        0.0
    );
    assert_eq!(
        value(&m, "mental_health_current_x_case_out_of_home", 0),
        0.0
    );
    assert_eq!(value(&m, "mental_health_current", 0), 1.0);
    assert_eq!(
        value(&m, "substance_use_history_x_case_investigation", 2),
        1.0
    );
    // No shape for the inputs not given.
    assert!(
        !m.names()
            .iter()
            .any(|n| n.starts_with("prior_removals_from"))
    );
    // One factor per shape and household item, named once.
    let factors = spec.factors();
    let age = factors.iter().find(|f| f.name == "age").unwrap();
    let names: Vec<&str> = age
        .members
        .iter()
        .map(|&j| spec.features[j].name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "age_under_6m",
            "age_6_11m",
            "age_1_2y",
            "age_from_30",
            "age_from_120"
        ]
    );
    assert_eq!(age.words(Some(92.0)), "age: 3 months");
    assert_eq!(age.words(Some(10.0)), "age: 10 days");
    assert_eq!(age.words(Some(1978.0)), "age: 5 years");
    let gap = factors.iter().find(|f| f.name == "visit_gap").unwrap();
    assert_eq!(
        gap.words(Some(95.0)),
        "time since the last home visit: 95 days"
    );
    assert_eq!(
        gap.words(None),
        "time since the last home visit: not recorded"
    );
    let mh = factors
        .iter()
        .find(|f| f.name == "mental_health_current")
        .unwrap();
    assert_eq!(
        mh.members.len(),
        5,
        "the item, two case types, two infant bands"
    );
    assert_eq!(mh.words(None), "current caregiver mental-health concern");
    assert_eq!(
        factors.iter().filter(|f| f.name == "visit_gap").count(),
        1,
        "a group is one factor"
    );
}

/// The spec for trees reads each number once, as a ramp over its range
/// (0 when missing, flat beyond the range), keeps every standard feature that
/// codes no number, and names each number as one factor with its value.
#[test]
fn raw_features_read_each_number_once() {
    use safeflag_core::feature_spec::{Input, Transform};
    let ranges = vec![
        (Input::AgeDays, 0.0, 1000.0),
        (Input::Column("days_since_last_visit".into()), 0.0, 60.0),
        (Input::Column("caregiver_age".into()), 14.0, 24.0),
    ];
    let spec = FeatureSpec::raw(&ranges);
    let m = build_matrix(&cases(), &spec).unwrap();
    // Ages 92, 273 and 1978 days; visit gaps 30, ... and over 60; caregiver
    // ages 18, ... and missing.
    assert_eq!(value(&m, "age_value", 0), 92.0 / 1000.0);
    assert_eq!(value(&m, "age_value", 2), 1.0, "flat beyond the range");
    assert_eq!(value(&m, "visit_gap_value", 0), 0.5);
    assert_eq!(value(&m, "visit_gap_value", 2), 1.0);
    assert_eq!(value(&m, "caregiver_age_value", 0), 0.4);
    assert_eq!(value(&m, "caregiver_age_value", 2), 0.0, "missing");
    assert_eq!(value(&m, "caregiver_age_missing", 2), 1.0);
    // No coded number and no product of one: a tree finds its own thresholds.
    for f in &spec.features {
        assert!(
            !matches!(
                f.transform,
                Transform::AgeBand { .. }
                    | Transform::Positive { .. }
                    | Transform::Below { .. }
                    | Transform::Log1p { .. }
                    | Transform::Capped { .. }
                    | Transform::Interaction { .. }
            ),
            "{}",
            f.name
        );
    }
    // Every standard code, flag and missing indicator stays.
    let names = spec.names();
    for kept in [
        "sleep_unsafe",
        "sleep_sofa_chair",
        "case_out_of_home",
        "disability_missing",
        "mental_health_current",
        "household_not_assessed",
        "visit_gap_missing",
    ] {
        assert!(names.iter().any(|n| n == kept), "{kept}");
    }
    // No ramp for the numbers not given; one factor per number.
    assert!(!names.iter().any(|n| n == "prior_removals_value"));
    let factors = spec.factors();
    let age = factors.iter().find(|f| f.name == "age").unwrap();
    assert_eq!(age.members.len(), 1);
    assert_eq!(age.words(Some(92.0)), "age: 3 months");
    let carer = factors.iter().find(|f| f.name == "caregiver_age").unwrap();
    assert_eq!(carer.words(Some(18.0)), "caregiver age: 18");
}
