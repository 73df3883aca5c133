//! Computing a spec's features on validated cases, as polars expressions.

use polars::prelude::*;
use safeflag_core::FeatureMatrix;

use crate::{Error, Result};
use safeflag_core::feature_spec::{FeatureSpec, Input, Transform};

/// The child's age in days at the snapshot, as an expression.
pub fn age_days() -> Expr {
    (col("snapshot_date") - col("child_birth_date"))
        .dt()
        .total_days(false)
}

/// The age bands of reports and fairness audits: each band's name and the
/// age in days it ends before (the last band has no end).
pub const AGE_BANDS: [(&str, Option<i64>); 4] = [
    ("under 6 months", Some(183)),
    ("6-11 months", Some(365)),
    ("1-2 years", Some(1095)),
    ("3+ years", None),
];

/// The index in [`AGE_BANDS`] of a child aged `days`.
pub fn age_band_index(days: i64) -> usize {
    AGE_BANDS
        .iter()
        .position(|(_, end)| end.is_none_or(|end| days < end))
        .unwrap_or(AGE_BANDS.len() - 1)
}

/// The age band names of [`AGE_BANDS`], as an expression.
pub fn age_band() -> Expr {
    let a = age_days();
    let (last, bands) = AGE_BANDS.split_last().expect("bands");
    bands.iter().rev().fold(lit(last.0), |older, (name, end)| {
        when(a.clone().lt(lit(end.expect("only the last band is open"))))
            .then(lit(*name))
            .otherwise(older)
    })
}

/// One `Float64` expression per feature, named after it, in two stages: the
/// first computes every non-interaction feature (reading the child's age from
/// an `__age_days` column); the second multiplies already computed features
/// by name, so an interaction costs one multiplication instead of recomputing
/// both of its sides.
pub fn feature_exprs(spec: &FeatureSpec) -> Result<(Vec<Expr>, Vec<Expr>)> {
    // Both sides of every product come before it, or the plan cannot run.
    spec.interactions().map_err(Error::Spec)?;
    let (mut base, mut products) = (Vec::new(), Vec::new());
    let num = |c: &str| col(c).cast(DataType::Float64);
    let indicator = |e: Expr| e.fill_null(lit(false)).cast(DataType::Float64);
    for f in &spec.features {
        let e = match &f.transform {
            Transform::AgeBand { min_days, max_days } => {
                let a = col(AGE);
                let lo = a.clone().gt_eq(lit(*min_days));
                indicator(match max_days {
                    Some(max) => lo.and(a.lt(lit(*max))),
                    None => lo,
                })
            }
            Transform::Code {
                column,
                codes,
                or_missing,
            } => {
                // An OR of equalities: string views compare on their inline
                // prefix, far cheaper than hashing every value for `is_in`.
                let m = codes
                    .iter()
                    .map(|code| col(column.as_str()).eq(lit(code.as_str())))
                    .reduce(|a, b| a.or(b))
                    .unwrap_or(lit(false));
                let m = if *or_missing {
                    m.or(col(column.as_str()).is_null())
                } else {
                    m
                };
                indicator(m)
            }
            Transform::IsTrue { column } => indicator(col(column.as_str())),
            Transform::Missing { column } => col(column.as_str()).is_null().cast(DataType::Float64),
            Transform::Positive { column } => indicator(num(column).gt(lit(0.0))),
            Transform::Below { column, threshold } => indicator(num(column).lt(lit(*threshold))),
            Transform::Log1p { column } => num(column).log1p().fill_null(lit(0.0)),
            Transform::Capped { column, cap } => {
                let v = num(column);
                (when(v.clone().gt(lit(*cap))).then(lit(*cap)).otherwise(v) / lit(*cap))
                    .fill_null(lit(0.0))
            }
            Transform::Hinge { input, from, to } => {
                let v = match input {
                    Input::AgeDays => col(AGE).cast(DataType::Float64),
                    Input::Column(c) => num(c),
                };
                let clamped = when(v.clone().lt(lit(*from)))
                    .then(lit(*from))
                    .when(v.clone().gt(lit(*to)))
                    .then(lit(*to))
                    .otherwise(v);
                ((clamped - lit(*from)) / lit(to - from)).fill_null(lit(0.0))
            }
            Transform::Interaction { left, right } => {
                products.push((col(left.as_str()) * col(right.as_str())).alias(f.name.as_str()));
                continue;
            }
        };
        base.push(e.alias(f.name.as_str()));
    }
    Ok((base, products))
}

const AGE: &str = "__age_days";

/// Computes the spec's features on validated cases.
pub fn build_matrix(cases: &DataFrame, spec: &FeatureSpec) -> Result<FeatureMatrix> {
    let schema = cases.schema();
    let missing: Vec<String> = spec
        .input_columns()
        .into_iter()
        .filter(|c| !schema.contains(c))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Spec(format!(
            "the cases lack column(s) the feature spec reads: {}",
            missing.join(", ")
        )));
    }
    crate::kernel::evaluate(cases, spec)
}

/// [`build_matrix`] as a polars plan over [`feature_exprs`]: the reference
/// the kernel is tested against, value for value.
pub fn build_matrix_with_polars(cases: &DataFrame, spec: &FeatureSpec) -> Result<FeatureMatrix> {
    let (base, products) = feature_exprs(spec)?;
    let mut inputs: Vec<Expr> = spec
        .input_columns()
        .iter()
        .map(|c| col(c.as_str()))
        .collect();
    inputs.push(age_days().alias(AGE));
    let mut df = cases
        .clone()
        .lazy()
        .select(inputs)
        .select(base)
        .with_columns(products)
        .select(
            spec.names()
                .iter()
                .map(|n| col(n.as_str()))
                .collect::<Vec<_>>(),
        )
        .collect()?;
    // One copy, column by column, into the matrix's column-major buffer; each
    // polars column is dropped once copied, so the features are not held twice.
    let rows = df.height();
    let mut data = Vec::with_capacity(rows * df.width());
    for name in spec.names() {
        let c = df.drop_in_place(&name)?;
        let ca = c.as_materialized_series().f64()?.clone();
        drop(c);
        for chunk in ca.downcast_iter() {
            data.extend_from_slice(chunk.values().as_slice());
        }
    }
    Ok(FeatureMatrix::from_column_major(spec.names(), rows, data))
}

/// The outcome column as booleans (validated cases have no nulls in it).
pub fn labels(cases: &DataFrame) -> Result<Vec<bool>> {
    let c = cases
        .column(safeflag_core::contract::OUTCOME)
        .map_err(|_| Error::Spec("the cases have no `outcome_critical_incident` column".into()))?;
    Ok(c.bool()?.iter().map(|v| v.unwrap_or(false)).collect())
}

/// A text column as owned strings (`None` where missing), for group audits.
pub fn text_column(cases: &DataFrame, column: &str) -> Result<Vec<Option<String>>> {
    Ok(cases
        .column(column)?
        .str()?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

/// Each row's age band name ([`AGE_BANDS`]), `None` when a date is missing.
pub fn age_band_names(cases: &DataFrame) -> Result<Vec<Option<&'static str>>> {
    use rayon::prelude::*;
    Ok(crate::kernel::ages_in_days(cases)?
        .par_iter()
        .map(|a| a.map(|a| AGE_BANDS[age_band_index(a)].0))
        .collect())
}

/// Each row's age band name, owned, for the training audit.
pub fn age_bands(cases: &DataFrame) -> Result<Vec<Option<String>>> {
    Ok(age_band_names(cases)?
        .into_iter()
        .map(|b| b.map(str::to_string))
        .collect())
}
