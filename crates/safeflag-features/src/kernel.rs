//! The feature spec evaluated by plain loops over a frame's columns.
//!
//! Scoring a night computes 39 features on every row. As a polars plan each
//! feature was its own expression with its own temporary columns (ten string
//! comparisons over `sleep_environment` alone), then copied into the matrix:
//! 0.6-0.9 s of a 5M-row run. Here each input column is read once into a
//! compact form (a small code id per row for coded columns, days of age, the
//! numbers as `f64`), in parallel, and each feature is one loop writing
//! straight into its column of the matrix.
//!
//! The values are the same as [`crate::feature_exprs`] gives, bit for bit:
//! the tests compare the two on clean and on messy snapshots.

use polars::prelude::*;
use rayon::prelude::*;
use safeflag_core::FeatureMatrix;
use safeflag_core::feature_spec::{FeatureSpec, Input, Transform};

use crate::{Error, Result};

/// A coded column's value: its index in the column's code list, or one of these.
const OTHER: u8 = u8::MAX;
const NULL: u8 = u8::MAX - 1;

/// One input column, read once.
enum Source {
    /// Age in days at the snapshot (`None` when either date is missing).
    Age(Vec<Option<i64>>),
    /// A coded text column: each row's index into `codes`, or [`OTHER`] / [`NULL`].
    Codes { codes: Vec<String>, ids: Vec<u8> },
    /// A number, cast to `f64`.
    Number(Vec<Option<f64>>),
    /// A yes/no column.
    Flag(Vec<Option<bool>>),
    /// Only whether the value is missing.
    Nulls(Vec<bool>),
}

/// What a source is read as, and from which column.
#[derive(PartialEq)]
enum Need {
    Age,
    Codes(String),
    Number(String),
    Flag(String),
    Nulls(String),
}

/// Computes the spec's features on `cases` into `rows x features`.
pub fn evaluate(cases: &DataFrame, spec: &FeatureSpec) -> Result<FeatureMatrix> {
    let rows = cases.height();
    // Which sources the features need, each once.
    let mut needs: Vec<Need> = Vec::new();
    let mut source_of: Vec<Option<usize>> = Vec::with_capacity(spec.features.len());
    for f in &spec.features {
        let need = match &f.transform {
            Transform::AgeBand { .. }
            | Transform::Hinge {
                input: Input::AgeDays,
                ..
            } => Need::Age,
            Transform::Code { column, .. } => Need::Codes(column.clone()),
            Transform::IsTrue { column } => Need::Flag(column.clone()),
            Transform::Missing { column } => Need::Nulls(column.clone()),
            Transform::Positive { column }
            | Transform::Below { column, .. }
            | Transform::Log1p { column }
            | Transform::Capped { column, .. }
            | Transform::Hinge {
                input: Input::Column(column),
                ..
            } => Need::Number(column.clone()),
            Transform::Interaction { .. } => {
                source_of.push(None);
                continue;
            }
        };
        let i = needs.iter().position(|n| *n == need).unwrap_or_else(|| {
            needs.push(need);
            needs.len() - 1
        });
        source_of.push(Some(i));
    }
    let sources: Vec<Source> = needs
        .par_iter()
        .map(|need| read(cases, spec, need))
        .collect::<Result<_>>()?;

    // Products read their two sides from already computed columns, so the
    // columns are filled in two passes: every other feature, then products.
    let products = spec.interactions().map_err(Error::Spec)?;
    let mut data = vec![0.0f64; rows * spec.features.len()];
    data.par_chunks_mut(rows.max(1))
        .zip(spec.features.par_iter().zip(&source_of))
        .try_for_each(|(out, (f, source))| -> Result<()> {
            if let Some(s) = source {
                fill(out, &f.transform, &sources[*s])?;
            }
            Ok(())
        })?;
    for (j, l, r) in products {
        let (before, after) = data.split_at_mut(j * rows);
        let (a, b) = (&before[l * rows..][..rows], &before[r * rows..][..rows]);
        after[..rows]
            .par_iter_mut()
            .zip(a.par_iter().zip(b))
            .for_each(|(o, (x, y))| *o = x * y);
    }
    Ok(FeatureMatrix::from_column_major(spec.names(), rows, data))
}

/// Reads one source from the frame.
fn read(cases: &DataFrame, spec: &FeatureSpec, need: &Need) -> Result<Source> {
    let column = |name: &str| -> Result<&Column> {
        cases
            .column(name)
            .map_err(|_| Error::Spec(format!("the cases lack column `{name}`")))
    };
    let wrong = |name: &str, what: &str| {
        Error::Spec(format!(
            "column `{name}` is {} where the feature spec needs {what}",
            cases
                .column(name)
                .map(|c| c.dtype().to_string())
                .unwrap_or_default()
        ))
    };
    Ok(match need {
        Need::Age => Source::Age(ages_in_days(cases)?),
        Need::Codes(name) => {
            let ca = column(name)?.str().map_err(|_| wrong(name, "text"))?;
            // Every code any feature compares this column with.
            let mut codes: Vec<String> = Vec::new();
            for f in &spec.features {
                if let Transform::Code {
                    column, codes: c, ..
                } = &f.transform
                    && column == name
                {
                    for code in c {
                        if !codes.contains(code) {
                            codes.push(code.clone());
                        }
                    }
                }
            }
            if codes.len() >= usize::from(NULL) {
                return Err(Error::Spec(format!(
                    "column `{name}` is compared with more than {} codes",
                    NULL - 1
                )));
            }
            // Each code's length and first four bytes, as a string view
            // holds them: most values are told apart from every code by
            // those two numbers, without reading the text.
            let heads: Vec<(u32, u32)> = codes
                .iter()
                .map(|c| {
                    let mut prefix = [0u8; 4];
                    let n = c.len().min(4);
                    prefix[..n].copy_from_slice(&c.as_bytes()[..n]);
                    (c.len() as u32, u32::from_le_bytes(prefix))
                })
                .collect();
            let mut ids = Vec::with_capacity(ca.len());
            let validity = ca.rechunk_validity();
            for arr in ca.downcast_iter() {
                for (i, view) in arr.views().iter().enumerate() {
                    let row = ids.len();
                    let id = if validity.as_ref().is_some_and(|b| !b.get_bit(row)) {
                        NULL
                    } else {
                        heads
                            .iter()
                            .zip(&codes)
                            .position(|(&(len, prefix), code)| {
                                len == view.length && prefix == view.prefix && arr.value(i) == code
                            })
                            .map_or(OTHER, |k| k as u8)
                    };
                    ids.push(id);
                }
            }
            Source::Codes { codes, ids }
        }
        Need::Number(name) => Source::Number(numbers(cases, name)?),
        Need::Flag(name) => {
            let ca = column(name)?.bool().map_err(|_| wrong(name, "yes/no"))?;
            Source::Flag(ca.iter().collect())
        }
        Need::Nulls(name) => {
            let c = column(name)?.as_materialized_series().rechunk_validity();
            let mut out = Vec::with_capacity(cases.height());
            match c {
                None => out.resize(cases.height(), false),
                Some(valid) => out.extend(valid.iter().map(|v| !v)),
            }
            Source::Nulls(out)
        }
    })
}

/// Each child's age in days at the snapshot (`None` when either date is
/// missing): the age bands of the features and of the fairness audit.
pub fn ages_in_days(cases: &DataFrame) -> Result<Vec<Option<i64>>> {
    let days = |name: &str| -> Result<Vec<Option<i32>>> {
        let c = cases
            .column(name)
            .map_err(|_| Error::Spec(format!("the cases lack column `{name}`")))?;
        if c.dtype() != &DataType::Date {
            return Err(Error::Spec(format!(
                "column `{name}` is {} where the feature spec needs a date",
                c.dtype()
            )));
        }
        Ok(options(c.cast(&DataType::Int32)?.i32()?))
    };
    let (snapshot, birth) = (days("snapshot_date")?, days("child_birth_date")?);
    Ok(snapshot
        .iter()
        .zip(&birth)
        .map(|(s, b)| Some(i64::from((*s)?) - i64::from((*b)?)))
        .collect())
}

/// A numeric column's values (`None` where missing), read from its value
/// buffers chunk by chunk rather than value by value.
fn options<T: PolarsNumericType>(ca: &ChunkedArray<T>) -> Vec<Option<T::Native>> {
    let mut out = Vec::with_capacity(ca.len());
    for arr in ca.downcast_iter() {
        let valid = |i| arr.validity().is_none_or(|b| b.get_bit(i));
        let values = arr.values().iter().enumerate();
        out.extend(values.map(|(i, &v)| valid(i).then_some(v)));
    }
    out
}

/// Writes one (non-product) feature's column.
fn fill(out: &mut [f64], transform: &Transform, source: &Source) -> Result<()> {
    let one = |b: bool| if b { 1.0 } else { 0.0 };
    match (transform, source) {
        (Transform::AgeBand { min_days, max_days }, Source::Age(age)) => {
            for (o, a) in out.iter_mut().zip(age) {
                *o = one(a.is_some_and(|a| a >= *min_days && max_days.is_none_or(|m| a < m)));
            }
        }
        (
            Transform::Code {
                codes: wanted,
                or_missing,
                ..
            },
            Source::Codes { codes, ids },
        ) => {
            // A lookup table from code id to the feature's value.
            let mut table = [0.0f64; 256];
            for (i, c) in codes.iter().enumerate() {
                table[i] = one(wanted.contains(c));
            }
            table[usize::from(NULL)] = one(*or_missing);
            for (o, &id) in out.iter_mut().zip(ids) {
                *o = table[usize::from(id)];
            }
        }
        (Transform::IsTrue { .. }, Source::Flag(v)) => {
            for (o, v) in out.iter_mut().zip(v) {
                *o = one(v.unwrap_or(false));
            }
        }
        (Transform::Missing { .. }, Source::Nulls(v)) => {
            for (o, &v) in out.iter_mut().zip(v) {
                *o = one(v);
            }
        }
        (Transform::Positive { .. }, Source::Number(v)) => {
            for (o, v) in out.iter_mut().zip(v) {
                *o = one(v.is_some_and(|v| v > 0.0));
            }
        }
        (Transform::Below { threshold, .. }, Source::Number(v)) => {
            for (o, v) in out.iter_mut().zip(v) {
                *o = one(v.is_some_and(|v| v < *threshold));
            }
        }
        (Transform::Log1p { .. }, Source::Number(v)) => {
            for (o, v) in out.iter_mut().zip(v) {
                *o = v.map_or(0.0, f64::ln_1p);
            }
        }
        (Transform::Capped { cap, .. }, Source::Number(v)) => {
            // Times the reciprocal, as polars divides by a scalar: the models
            // were trained on those values, and x / cap can differ in the
            // last bit.
            let scale = 1.0 / cap;
            for (o, v) in out.iter_mut().zip(v) {
                *o = v.map_or(0.0, |v| (if v > *cap { *cap } else { v }) * scale);
            }
        }
        (Transform::Hinge { from, to, .. }, Source::Number(v)) => {
            hinge(out, v.iter().copied(), *from, *to);
        }
        (Transform::Hinge { from, to, .. }, Source::Age(age)) => {
            // Ages are whole days, exact in `f64`.
            hinge(out, age.iter().map(|a| a.map(|a| a as f64)), *from, *to);
        }
        _ => {
            return Err(Error::Spec(
                "internal: a feature met the wrong source".into(),
            ));
        }
    }
    Ok(())
}

/// A hinge's column: `(clamp(x, from, to) - from) / (to - from)`, 0 where
/// missing, divided as polars divides by a scalar (times the reciprocal),
/// like [`Transform::Capped`].
fn hinge(out: &mut [f64], v: impl Iterator<Item = Option<f64>>, from: f64, to: f64) {
    let scale = 1.0 / (to - from);
    for (o, v) in out.iter_mut().zip(v) {
        *o = v.map_or(0.0, |v| (v.clamp(from, to) - from) * scale);
    }
}

/// Each row's value of a hinge input (`None` where missing): the child's
/// age in days, or a numeric column, as the features read them.
pub fn input_values(cases: &DataFrame, input: &Input) -> Result<Vec<Option<f64>>> {
    Ok(match input {
        Input::AgeDays => ages_in_days(cases)?
            .into_iter()
            .map(|a| a.map(|a| a as f64))
            .collect(),
        Input::Column(name) => numbers(cases, name)?,
    })
}

/// A numeric column's values as `f64` (`None` where missing); an error
/// naming the column when it is absent or not a number.
fn numbers(cases: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let c = cases
        .column(name)
        .map_err(|_| Error::Spec(format!("the cases lack column `{name}`")))?;
    if !c.dtype().is_primitive_numeric() {
        return Err(Error::Spec(format!(
            "column `{name}` is {} where the feature spec needs a number",
            c.dtype()
        )));
    }
    Ok(options(c.cast(&DataType::Float64)?.f64()?))
}
