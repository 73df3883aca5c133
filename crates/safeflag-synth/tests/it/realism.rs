//! The generated population has the documented shape.

use polars::prelude::*;
use safeflag_synth::{SynthParams, generate};

fn share(df: &DataFrame, predicate: Expr) -> f64 {
    let out = df
        .clone()
        .lazy()
        .select([predicate.cast(DataType::Float64).mean()])
        .collect()
        .unwrap();
    out.column(out.get_column_names()[0].as_str())
        .unwrap()
        .f64()
        .unwrap()
        .get(0)
        .unwrap()
}

#[test]
fn prevalence_ages_and_missing_rates() {
    let s = generate(&SynthParams {
        rows: 200_000,
        seed: 11,
        snapshots: 4,
        ..SynthParams::default()
    });
    let df = &s.cases;
    let prevalence = share(df, col("outcome_critical_incident"));
    assert!(
        (0.01..=0.02).contains(&prevalence),
        "prevalence {prevalence}"
    );
    let truth_mean = s
        .truth
        .column("true_probability")
        .unwrap()
        .f64()
        .unwrap()
        .mean()
        .unwrap();
    assert!(
        (truth_mean - prevalence).abs() < 0.002,
        "{truth_mean} vs {prevalence}"
    );

    let age = (col("snapshot_date") - col("child_birth_date"))
        .dt()
        .total_days(false);
    let infants = share(df, age.clone().lt(lit(365)));
    assert!((0.25..=0.40).contains(&infants), "infant share {infants}");
    assert!(share(df, age.clone().lt(lit(0))) == 0.0);

    let missing_age = share(df, col("caregiver_age").is_null());
    assert!((0.04..=0.08).contains(&missing_age), "{missing_age}");
    let missing_sleep = share(df, col("sleep_environment").is_null());
    assert!((0.01..=0.06).contains(&missing_sleep), "{missing_sleep}");
    assert_eq!(share(df, col("case_id").is_null()), 0.0);

    // Infants carry more risk than older children in the truth.
    let young = share(
        &df.clone()
            .lazy()
            .filter(age.clone().lt(lit(183)))
            .collect()
            .unwrap(),
        col("outcome_critical_incident"),
    );
    let old = share(
        &df.clone()
            .lazy()
            .filter(age.gt(lit(1095)))
            .collect()
            .unwrap(),
        col("outcome_critical_incident"),
    );
    assert!(young > 3.0 * old, "under 6 months {young} vs 3+ {old}");
}

#[test]
fn siblings_share_household_facts() {
    let s = generate(&SynthParams {
        rows: 20_000,
        seed: 3,
        ..SynthParams::default()
    });
    let per_case = s
        .cases
        .clone()
        .lazy()
        .group_by([col("case_id")])
        .agg([
            len().alias("children"),
            col("office").n_unique().alias("offices"),
            col("domestic_violence").n_unique().alias("dv"),
            col("prior_reports").n_unique().alias("reports"),
        ])
        .collect()
        .unwrap();
    let max = |c: &str| {
        per_case
            .column(c)
            .unwrap()
            .as_materialized_series()
            .max::<u32>()
            .unwrap()
            .unwrap()
    };
    assert!(max("children") >= 3);
    assert_eq!(max("offices"), 1);
    assert_eq!(max("dv"), 1);
    assert_eq!(max("reports"), 1);
}
