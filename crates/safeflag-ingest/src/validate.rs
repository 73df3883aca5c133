//! Contract validation as one columnar plan, with quarantine.
//!
//! Each contract column becomes three things in a single polars lazy plan: a
//! cleaned text column (trimmed, missing spellings turned into nulls), a typed
//! value column, and one boolean flag column per rule the column can break.
//! Two cross-column rules (birth after snapshot, duplicate key) add two more
//! flags. The plan runs once; the quarantine table is then the union of the
//! rows behind each flag, and the valid cases are the rows with no flag. No
//! row is dropped or guessed: a row is either in the cases or, with every
//! problem it has, in the quarantine.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use safeflag_core::contract::{self, ColumnSpec, ColumnType, ISO_DATE_FORMAT, Presence, Rule};

use crate::kernels;
use crate::mapping::Mapping;
use crate::read::{InputFormat, SOURCE_ROW, read_raw};
use crate::{Error, Result};

/// Options of one ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    mapping: Option<Mapping>,
    require_outcome: bool,
}

impl IngestOptions {
    /// Applies an agency mapping before validation.
    pub fn with_mapping(mut self, mapping: Option<Mapping>) -> Self {
        self.mapping = mapping;
        self
    }

    /// Requires and validates `outcome_critical_incident` (training and
    /// evaluation). When false the column, if present, is carried as an extra.
    pub fn with_require_outcome(mut self, require: bool) -> Self {
        self.require_outcome = require;
        self
    }
}

/// How many rows broke one rule in one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemCount {
    /// Canonical column name.
    pub column: String,
    /// The rule broken.
    pub rule: Rule,
    /// Number of rows that broke it.
    pub rows: usize,
}

/// What validation found. Counts always reconcile:
/// `rows_read == rows_valid + rows_quarantined`.
#[derive(Debug, Clone)]
pub struct ValidationReport {
    /// The file validated.
    pub input: PathBuf,
    /// Its format.
    pub format: InputFormat,
    /// Data rows in the file.
    pub rows_read: usize,
    /// Rows that passed every rule.
    pub rows_valid: usize,
    /// Rows with at least one problem.
    pub rows_quarantined: usize,
    /// Problems by column and rule, most frequent first (ties in contract order).
    pub problems: Vec<ProblemCount>,
    /// Columns in the file that are not in the contract, carried through untouched.
    pub extra_columns: Vec<String>,
    /// One row per problem: `source_row` (u32/u64, 1-based), `column`, `rule`,
    /// `value` (the raw value as read, null if the field was empty).
    pub quarantine: DataFrame,
}

impl ValidationReport {
    /// The quarantined share of rows read (0 for an empty input).
    pub fn quarantined_share(&self) -> f64 {
        if self.rows_read == 0 {
            0.0
        } else {
            self.rows_quarantined as f64 / self.rows_read as f64
        }
    }

    /// Problem counts summed by column, most affected first.
    pub fn rows_by_column(&self) -> Vec<(String, usize)> {
        let mut by: Vec<(String, usize)> = Vec::new();
        for p in &self.problems {
            match by.iter_mut().find(|(c, _)| *c == p.column) {
                Some((_, n)) => *n += p.rows,
                None => by.push((p.column.clone(), p.rows)),
            }
        }
        by.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        by
    }

    /// The data-quality gate: fails when the quarantined share exceeds `limit`.
    pub fn check_gate(&self, limit: f64) -> std::result::Result<(), GateFailure> {
        let share = self.quarantined_share();
        if share > limit {
            Err(GateFailure {
                share,
                limit,
                rows_quarantined: self.rows_quarantined,
                rows_read: self.rows_read,
                worst_columns: self.rows_by_column().into_iter().take(3).collect(),
            })
        } else {
            Ok(())
        }
    }
}

/// The data-quality gate tripped: too large a share of the extract broke the contract.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "data-quality gate: {rows_quarantined} of {rows_read} rows quarantined ({:.2}%, limit {:.2}%); worst columns: {}",
    share * 100.0,
    limit * 100.0,
    worst_columns.iter().map(|(c, n)| format!("`{c}` ({n} problems)")).collect::<Vec<_>>().join(", ")
)]
pub struct GateFailure {
    /// Quarantined share of rows read.
    pub share: f64,
    /// The configured limit.
    pub limit: f64,
    /// Rows quarantined.
    pub rows_quarantined: usize,
    /// Rows read.
    pub rows_read: usize,
    /// Up to three columns with the most problems.
    pub worst_columns: Vec<(String, usize)>,
}

/// Valid cases, typed to the contract, plus the report of what was quarantined.
#[derive(Debug, Clone)]
pub struct Validated {
    /// `source_row`, then every contract column in contract order (absent
    /// optional columns as typed nulls), then extra columns as read.
    pub cases: DataFrame,
    /// The validation report.
    pub report: ValidationReport,
}

/// Reads, maps and validates a snapshot file.
pub fn ingest(path: &Path, options: &IngestOptions) -> Result<Validated> {
    let format = InputFormat::from_path(path)?;
    let _span = tracing::info_span!("ingest", format = format.as_str()).entered();
    let mut df = read_raw(path, format)?;
    tracing::debug!(rows = df.height(), columns = df.width(), "read");

    if let Some(mapping) = &options.mapping {
        let header: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        mapping.check_header(path, &header)?;
        for (agency, canonical) in &mapping.columns {
            if agency != canonical {
                df.rename(agency, canonical.as_str().into())
                    .map_err(Error::internal)?;
            }
        }
    }
    if df.height() == 0 {
        return Err(Error::NoRows {
            path: path.to_path_buf(),
        });
    }
    validate_frame(df, path, format, options)
}

/// Validates a raw frame (with a [`SOURCE_ROW`] column) against the contract.
pub fn validate_frame(
    df: DataFrame,
    path: &Path,
    format: InputFormat,
    options: &IngestOptions,
) -> Result<Validated> {
    let schema = df.schema().clone();
    let specs: Vec<&ColumnSpec> = contract::COLUMNS
        .iter()
        .filter(|c| c.presence != Presence::Outcome || options.require_outcome)
        .collect();

    let missing: Vec<String> = specs
        .iter()
        .filter(|c| {
            matches!(
                c.presence,
                Presence::Required | Presence::RequiredColumn | Presence::Outcome
            ) && !schema.contains(c.name)
        })
        .map(|c| c.name.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Error::MissingColumns {
            path: path.to_path_buf(),
            columns: missing,
        });
    }
    let extra_columns: Vec<String> = schema
        .iter_names()
        .filter(|n| n.as_str() != SOURCE_ROW && !specs.iter().any(|c| c.name == n.as_str()))
        .map(|n| n.to_string())
        .collect();

    let date_format = options
        .mapping
        .as_ref()
        .and_then(|m| m.date_format.clone())
        .unwrap_or_else(|| ISO_DATE_FORMAT.to_string());
    let iso = date_format == ISO_DATE_FORMAT;

    let mut clean = Vec::new();
    let mut values = Vec::new();
    let mut flags: Vec<Flag> = Vec::new();
    for (ci, spec) in specs.iter().enumerate() {
        let Some(dtype) = schema.get(spec.name) else {
            continue;
        };
        let codes = options
            .mapping
            .as_ref()
            .and_then(|m| m.codes_for(spec.name));
        let plan = ColumnPlan::new(spec, dtype, codes, &date_format, iso);
        clean.extend(plan.clean);
        values.push(plan.value.alias(value_name(spec.name)));
        for (rule, e) in plan.flags {
            flags.push(Flag::new(ci, spec.name, rule, e));
        }
    }

    // Cross-column rules, on typed values.
    let ci_of = |name: &str| {
        specs
            .iter()
            .position(|c| c.name == name)
            .unwrap_or(usize::MAX)
    };
    let birth = col(value_name("child_birth_date"));
    let snap = col(value_name("snapshot_date"));
    let birth_flag = Flag::new(
        ci_of("child_birth_date"),
        "child_birth_date",
        Rule::BirthAfterSnapshot,
        birth.gt(snap),
    );
    // The duplicate-key flag is computed after the plan (see `duplicate_keys`);
    // its expression here is only a placeholder and never evaluated.
    let dup_flag = Flag::new(
        ci_of("child_id"),
        "child_id",
        Rule::DuplicateKey,
        lit(false),
    );

    let planned: Vec<&Flag> = flags.iter().chain(std::iter::once(&birth_flag)).collect();
    let flag_exprs: Vec<Expr> = planned
        .iter()
        .map(|f| f.expr.clone().fill_null(lit(false)).alias(f.name.as_str()))
        .collect();
    let flag_cols: Vec<Expr> = planned.iter().map(|f| col(f.name.as_str())).collect();

    let mut all = df
        .lazy()
        .with_columns(clean)
        .with_columns(values)
        .with_columns(flag_exprs)
        .with_column(
            any_horizontal(flag_cols)
                .map_err(Error::internal)?
                .alias(BAD),
        )
        .collect()
        .map_err(Error::internal)?;
    let dup = duplicate_keys(&all)?.with_name(dup_flag.name.as_str().into());
    let bad = (all
        .column(BAD)
        .and_then(|c| c.bool().cloned())
        .map_err(Error::internal)?
        | dup.clone())
    .with_name(BAD.into());
    all.with_column(dup.into_column())
        .map_err(Error::internal)?;
    all.with_column(bad.into_column())
        .map_err(Error::internal)?;
    let cross = [birth_flag, dup_flag];

    let rows_read = all.height();
    let bad = all
        .column(BAD)
        .map_err(Error::internal)?
        .bool()
        .map_err(Error::internal)?;
    let rows_quarantined = bad.sum().unwrap_or(0) as usize;

    let mut problems = Vec::new();
    let mut pieces = Vec::new();
    for f in flags.iter().chain(cross.iter()) {
        let n = all
            .column(f.name.as_str())
            .and_then(|c| c.bool().cloned())
            .map_err(Error::internal)?
            .sum()
            .unwrap_or(0) as usize;
        if n == 0 {
            continue;
        }
        problems.push((
            f.column_index,
            ProblemCount {
                column: f.column.to_string(),
                rule: f.rule,
                rows: n,
            },
        ));
        pieces.push(all.clone().lazy().filter(col(f.name.as_str())).select([
            col(SOURCE_ROW),
            lit(f.column).alias("column"),
            lit(f.rule.as_str()).alias("rule"),
            col(f.column).cast(DataType::String).alias("value"),
            lit(f.column_index as u32).alias("__ci"),
            lit(f.rule as u32).alias("__ri"),
        ]));
    }
    problems.sort_by(|a, b| {
        b.1.rows
            .cmp(&a.1.rows)
            .then(a.0.cmp(&b.0))
            .then(a.1.rule.cmp(&b.1.rule))
    });
    let problems = problems.into_iter().map(|(_, p)| p).collect();

    let quarantine = if pieces.is_empty() {
        empty_quarantine()
    } else {
        concat(pieces, UnionArgs::default())
            .map_err(Error::internal)?
            .sort([SOURCE_ROW, "__ci", "__ri"], SortMultipleOptions::default())
            .drop(cols(["__ci", "__ri"]))
            .collect()
            .map_err(Error::internal)?
    };

    let mut out = vec![col(SOURCE_ROW)];
    for spec in &specs {
        let dtype = contract_dtype(spec.ty);
        if schema.contains(spec.name) {
            out.push(col(value_name(spec.name)).cast(dtype).alias(spec.name));
        } else {
            out.push(lit(NULL).cast(dtype).alias(spec.name));
        }
    }
    out.extend(extra_columns.iter().map(|c| col(c.as_str())));
    // Most nights nothing is quarantined: then the cases are the typed value
    // columns themselves, shared with the plan's output rather than copied by a filter.
    let lf = all.lazy();
    let lf = if rows_quarantined == 0 {
        lf
    } else {
        lf.filter(col(BAD).not())
    };
    let cases = lf.select(out).collect().map_err(Error::internal)?;

    let report = ValidationReport {
        input: path.to_path_buf(),
        format,
        rows_read,
        rows_valid: cases.height(),
        rows_quarantined,
        problems,
        extra_columns,
        quarantine,
    };
    debug_assert_eq!(
        report.rows_read,
        report.rows_valid + report.rows_quarantined
    );
    tracing::info!(
        rows_read = report.rows_read,
        rows_valid = report.rows_valid,
        rows_quarantined = report.rows_quarantined,
        "validated"
    );
    Ok(Validated { cases, report })
}

const BAD: &str = "__bad";

/// Flags every row after the first with the same `(child_id, snapshot_date)`
/// (both parsed and present). Duplicates are rare, so the exact-order pass runs
/// only over the rows that `is_duplicated` (one hashed pass over the two typed
/// key columns) marks; a 5M-row `concat_str` key was the slow alternative.
fn duplicate_keys(all: &DataFrame) -> Result<BooleanChunked> {
    let child = all
        .column(&value_name("child_id"))
        .and_then(|c| c.str().cloned())
        .map_err(Error::internal)?;
    let date = all
        .column(&value_name("snapshot_date"))
        .and_then(|c| c.cast(&DataType::Int32))
        .map_err(Error::internal)?;
    let date = date.i32().map_err(Error::internal)?.clone();
    let keys = DataFrame::new(
        all.height(),
        vec![child.clone().into_column(), date.clone().into_column()],
    )
    .map_err(Error::internal)?;
    let candidates = keys.is_duplicated().map_err(Error::internal)?;
    let mut seen = std::collections::HashSet::new();
    Ok(candidates
        .iter()
        .enumerate()
        .map(
            |(i, candidate)| match (candidate, child.get(i), date.get(i)) {
                (Some(true), Some(c), Some(d)) => !seen.insert((c, d)),
                _ => false,
            },
        )
        .collect())
}

fn value_name(column: &str) -> String {
    format!("__v_{column}")
}

/// The polars type of a validated contract column.
pub fn contract_dtype(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::Text | ColumnType::Enum { .. } => DataType::String,
        ColumnType::Date => DataType::Date,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Int { .. } => DataType::Int64,
    }
}

fn empty_quarantine() -> DataFrame {
    DataFrame::new_infer_height(vec![
        Column::new_empty(SOURCE_ROW.into(), &IDX_DTYPE),
        Column::new_empty("column".into(), &DataType::String),
        Column::new_empty("rule".into(), &DataType::String),
        Column::new_empty("value".into(), &DataType::String),
    ])
    .expect("static schema")
}

struct Flag {
    column_index: usize,
    column: &'static str,
    rule: Rule,
    name: String,
    expr: Expr,
}

impl Flag {
    fn new(column_index: usize, column: &'static str, rule: Rule, expr: Expr) -> Flag {
        Flag {
            column_index,
            column,
            rule,
            name: format!("__f_{column}__{}", rule.as_str()),
            expr,
        }
    }
}

/// The expressions that clean, type and check one contract column.
struct ColumnPlan {
    clean: Option<Expr>,
    value: Expr,
    flags: Vec<(Rule, Expr)>,
}

impl ColumnPlan {
    fn new(
        spec: &'static ColumnSpec,
        dtype: &DataType,
        codes: Option<&std::collections::BTreeMap<String, String>>,
        date_format: &str,
        iso: bool,
    ) -> ColumnPlan {
        let name = spec.name;
        let required = matches!(spec.presence, Presence::Required | Presence::Outcome);
        // A typed column (from Parquet or Arrow) of the right type needs no parsing.
        let native = match spec.ty {
            ColumnType::Date => dtype == &DataType::Date,
            ColumnType::Bool => dtype == &DataType::Boolean && codes.is_none(),
            ColumnType::Int { .. } => dtype.is_integer(),
            _ => false,
        };
        let mut flags = Vec::new();
        if native {
            let value = col(name);
            if required {
                flags.push((Rule::MissingRequired, value.clone().is_null()));
            }
            if let ColumnType::Int { min, max } = spec.ty {
                flags.push((
                    Rule::OutOfRange,
                    range_flag(value.clone().cast(DataType::Int64), min, max),
                ));
            }
            return ColumnPlan {
                clean: None,
                value,
                flags,
            };
        }

        let clean_name = format!("__c_{name}");
        let clean = clean_text(col(name).cast(DataType::String)).alias(clean_name.as_str());
        let c = col(clean_name.as_str());
        if required {
            flags.push((Rule::MissingRequired, c.clone().is_null()));
        }
        let present = c.clone().is_not_null();
        let value = match spec.ty {
            ColumnType::Text => c.clone(),
            ColumnType::Enum { codes: canonical } => {
                let agency: Vec<(String, String)> = codes
                    .into_iter()
                    .flatten()
                    .map(|(a, c)| (a.clone(), c.clone()))
                    .collect();
                let v = c.clone().map(
                    move |col| {
                        Ok(kernels::match_codes(col.str()?, canonical, &agency).into_column())
                    },
                    |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
                );
                flags.push((Rule::UnknownCode, present.and(v.clone().is_null())));
                v
            }
            ColumnType::Bool => {
                let agency: Vec<(String, bool)> = codes
                    .into_iter()
                    .flatten()
                    .map(|(a, c)| (a.clone(), c == "true"))
                    .collect();
                let v = c.clone().map(
                    move |col| Ok(kernels::parse_bools(col.str()?, &agency).into_column()),
                    |_, f| Ok(Field::new(f.name().clone(), DataType::Boolean)),
                );
                flags.push((Rule::BadBool, present.and(v.clone().is_null())));
                v
            }
            ColumnType::Int { min, max } => {
                // Non-strict: text that is not an integer becomes null and is flagged.
                let v = c.clone().cast(DataType::Int64);
                flags.push((Rule::NotInteger, present.and(v.clone().is_null())));
                flags.push((Rule::OutOfRange, range_flag(v.clone(), min, max)));
                v
            }
            ColumnType::Date => {
                let parsed = c.clone().str().to_date(StrptimeOptions {
                    format: Some(date_format.into()),
                    strict: false,
                    exact: true,
                    cache: true,
                });
                // Polars' parser is lenient about zero padding; the contract is not.
                let shape_ok = if iso {
                    c.clone().str().contains(lit(r"^\d{4}-\d{2}-\d{2}$"), true)
                } else {
                    lit(true)
                };
                let v = when(shape_ok)
                    .then(parsed)
                    .otherwise(lit(NULL).cast(DataType::Date));
                flags.push((Rule::BadDate, present.and(v.clone().is_null())));
                v
            }
        };
        ColumnPlan {
            clean: Some(clean),
            value,
            flags,
        }
    }
}

/// Trims a text column and turns the contract's missing spellings into nulls.
fn clean_text(e: Expr) -> Expr {
    e.map(
        |col| Ok(kernels::clean_text(col.str()?).into_column()),
        |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
    )
}

fn range_flag(v: Expr, min: i64, max: Option<i64>) -> Expr {
    let low = v.clone().lt(lit(min));
    match max {
        Some(max) => low.or(v.gt(lit(max))),
        None => low,
    }
}
