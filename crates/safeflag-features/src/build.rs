//! Computing a spec's features on validated cases, as polars expressions.

use std::collections::HashMap;

use polars::prelude::*;
use safeflag_core::FeatureMatrix;

use crate::{Error, Result};
use safeflag_core::feature_spec::{FeatureSpec, Transform};

/// The child's age in days at the snapshot, as an expression.
pub fn age_days() -> Expr {
    (col("snapshot_date") - col("child_birth_date"))
        .dt()
        .total_days(false)
}

/// The age band names used by reports and the fairness audit.
pub fn age_band() -> Expr {
    let a = age_days();
    when(a.clone().lt(lit(183)))
        .then(lit("under 6 months"))
        .when(a.clone().lt(lit(365)))
        .then(lit("6-11 months"))
        .when(a.lt(lit(1095)))
        .then(lit("1-2 years"))
        .otherwise(lit("3+ years"))
}

/// One `Float64` expression per feature, named after it.
pub fn feature_exprs(spec: &FeatureSpec) -> Result<Vec<Expr>> {
    let mut built: HashMap<&str, Expr> = HashMap::new();
    let mut out = Vec::with_capacity(spec.features.len());
    let num = |c: &str| col(c).cast(DataType::Float64);
    let indicator = |e: Expr| e.fill_null(lit(false)).cast(DataType::Float64);
    for f in &spec.features {
        let e = match &f.transform {
            Transform::AgeBand { min_days, max_days } => {
                let a = age_days();
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
                let list = lit(Series::new("".into(), codes.as_slice())).implode(false);
                let m = col(column.as_str()).is_in(list, false);
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
            Transform::Interaction { left, right } => {
                let (Some(l), Some(r)) = (built.get(left.as_str()), built.get(right.as_str()))
                else {
                    return Err(Error::Spec(format!(
                        "feature `{}` multiplies `{left}` and `{right}`, which must both be defined before it",
                        f.name
                    )));
                };
                l.clone() * r.clone()
            }
        };
        built.insert(f.name.as_str(), e.clone());
        out.push(e.alias(f.name.as_str()));
    }
    Ok(out)
}

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
    let exprs = feature_exprs(spec)?;
    let df = cases.clone().lazy().select(exprs).collect()?;
    let mut columns = Vec::with_capacity(df.width());
    for c in df.columns() {
        let ca = c.as_materialized_series().f64()?.rechunk();
        let values = ca
            .cont_slice()
            .map_err(|e| Error::Spec(format!("feature `{}`: {e}", c.name())))?;
        columns.push(values.to_vec());
    }
    Ok(FeatureMatrix::from_columns(spec.names(), columns))
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

/// Each row's age band name.
pub fn age_bands(cases: &DataFrame) -> Result<Vec<Option<String>>> {
    let df = cases
        .clone()
        .lazy()
        .select([age_band().alias("band")])
        .collect()?;
    text_column(&df, "band")
}
