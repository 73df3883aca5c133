//! Contract validation, column by column, with quarantine.
//!
//! Each contract column becomes three things in a small polars plan of its
//! own: a cleaned text column (trimmed, missing spellings turned into nulls),
//! a typed value column, and one boolean flag per rule the column can break.
//! The columns run side by side, and each raw column is dropped once checked,
//! so memory stays near the raw frame plus the typed cases. Two cross-column
//! rules (birth after snapshot, duplicate key) add two more flags on the typed
//! values. The quarantine is the union of the rows behind each flag, and the
//! valid cases are the rows with no flag. No row is dropped or guessed: a row
//! is either in the cases or, with every problem it has, in the quarantine.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use safeflag_core::contract::{
    self, ColumnSpec, ColumnType, ISO_DATE_FORMAT, Presence, Rule, TableSpec,
};

use crate::kernels;
use crate::mapping::Mapping;
use crate::read::{InputFormat, SOURCE_ROW, read_raw};
use crate::{Error, Result};

/// Options of one ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    mapping: Option<Mapping>,
    require_outcome: bool,
    table: &'static TableSpec,
    allow_empty: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            mapping: None,
            require_outcome: false,
            table: &contract::SNAPSHOT,
            allow_empty: false,
        }
    }
}

impl IngestOptions {
    /// Validates against another table than the snapshot (a table of the
    /// relational extract).
    pub fn with_table(mut self, table: &'static TableSpec) -> Self {
        self.table = table;
        self
    }

    /// Accepts a file with a header and no rows (a table of an extract
    /// with nothing in it yet); a snapshot with no rows is refused.
    pub fn with_allow_empty(mut self, allow: bool) -> Self {
        self.allow_empty = allow;
        self
    }

    /// The table validated against.
    pub fn table(&self) -> &'static TableSpec {
        self.table
    }

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
    if df.height() == 0 && !options.allow_empty {
        return Err(Error::NoRows {
            path: path.to_path_buf(),
        });
    }
    validate_frame(df, path, format, options)
}

/// Validates a raw frame (with a [`SOURCE_ROW`] column) against the
/// options' table (the snapshot contract unless told otherwise).
pub fn validate_frame(
    df: DataFrame,
    path: &Path,
    format: InputFormat,
    options: &IngestOptions,
) -> Result<Validated> {
    let table = options.table;
    let schema = df.schema().clone();
    let specs: Vec<&ColumnSpec> = table
        .columns
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
    // Types no contract column can hold: refused by name, before any cast.
    for spec in &specs {
        if let Some(dtype) = schema.get(spec.name)
            && !readable(dtype)
        {
            return Err(Error::UnsupportedType {
                path: path.to_path_buf(),
                column: spec.name.to_string(),
                dtype: dtype.to_string(),
            });
        }
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

    // Each contract column is taken out of the raw frame and cleaned, typed
    // and checked on its own; its raw text is dropped as soon as its typed
    // value and flags exist. So the raw frame, the cleaned copies and the
    // typed values are never all alive at once (the peak is about the raw
    // frame plus the typed cases), and columns run side by side on the pool.
    let mut df = df;
    let source_row = df.column(SOURCE_ROW).map_err(Error::internal)?.clone();
    let extras: Vec<Column> = extra_columns
        .iter()
        .map(|c| df.column(c).cloned().map_err(Error::internal))
        .collect::<Result<_>>()?;
    let height = df.height();
    let mut tasks = Vec::new();
    for (ci, spec) in specs.iter().enumerate() {
        let Some(dtype) = schema.get(spec.name) else {
            continue;
        };
        let codes = options
            .mapping
            .as_ref()
            .and_then(|m| m.codes_for(spec.name))
            .cloned();
        let raw = df.drop_in_place(spec.name).map_err(Error::internal)?;
        tasks.push((ci, *spec, dtype.clone(), codes, raw));
    }
    drop(df);
    let checked: Vec<CheckedColumn> = {
        use rayon::prelude::*;
        tasks
            .into_par_iter()
            .map(|(ci, spec, dtype, codes, raw)| {
                let keep_raw = cross_rule_columns(table).contains(&spec.name);
                check_column(
                    ci,
                    spec,
                    &dtype,
                    codes.as_ref(),
                    &date_format,
                    iso,
                    raw,
                    keep_raw,
                )
            })
            .collect::<Result<_>>()?
    };

    let value_of = |name: &str| -> Option<&Column> {
        checked
            .iter()
            .find(|c| c.spec.name == name)
            .map(|c| &c.value)
    };
    let ci_of = |name: &str| {
        specs
            .iter()
            .position(|c| c.name == name)
            .unwrap_or(usize::MAX)
    };

    // Cross-column rules, on typed values.
    let mut cross: Vec<(Flag, BooleanChunked)> = Vec::new();
    for o in table.order {
        if let (Some(earlier), Some(later)) = (value_of(o.earlier), value_of(o.later)) {
            let f = earlier
                .as_materialized_series()
                .gt(later.as_materialized_series())
                .map_err(Error::internal)?
                .fill_null_with_values(false)
                .map_err(Error::internal)?;
            cross.push((Flag::new(ci_of(o.flagged), o.flagged, o.rule), f));
        }
    }
    if let Some((text, date)) = table.key
        && let Some(key) = value_of(text)
    {
        // A key with a date part is checked only when the date column exists.
        let date = date.map(|d| value_of(d).ok_or(d));
        if let Ok(date) = date.transpose() {
            cross.push((
                Flag::new(ci_of(text), text, Rule::DuplicateKey),
                duplicate_keys(key, date)?,
            ));
        }
    }

    let mut bad = BooleanChunked::full("bad".into(), false, height);
    let mut problems = Vec::new();
    let mut pieces = Vec::new();
    let all_flags = checked
        .iter()
        .flat_map(|c| c.flags.iter().map(|(f, b, raw)| (f, b, Some(raw))))
        .chain(cross.iter().map(|(f, b)| (f, b, None)));
    for (f, flag, raw_values) in all_flags {
        let n = flag.sum().unwrap_or(0) as usize;
        if n == 0 {
            continue;
        }
        bad = &bad | flag;
        problems.push((
            f.column_index,
            ProblemCount {
                column: f.column.to_string(),
                rule: f.rule,
                rows: n,
            },
        ));
        let rows = source_row.filter(flag).map_err(Error::internal)?;
        // The raw value as the extract had it.
        let value = match raw_values {
            Some(raw) => raw.clone(),
            None => checked
                .iter()
                .find(|c| c.spec.name == f.column)
                .and_then(|c| c.raw_text.as_ref())
                .map(|raw| raw.filter(flag).and_then(|v| v.cast(&DataType::String)))
                .transpose()
                .map_err(Error::internal)?
                .unwrap_or_else(|| Column::full_null("value".into(), n, &DataType::String)),
        };
        pieces.push(
            DataFrame::new(
                n,
                vec![
                    rows.with_name(SOURCE_ROW.into()),
                    Column::new_scalar(
                        "column".into(),
                        Scalar::from(PlSmallStr::from(f.column)),
                        n,
                    ),
                    Column::new_scalar(
                        "rule".into(),
                        Scalar::from(PlSmallStr::from(f.rule.as_str())),
                        n,
                    ),
                    value.with_name("value".into()),
                    Column::new_scalar("__ci".into(), Scalar::from(f.column_index as u32), n),
                    Column::new_scalar("__ri".into(), Scalar::from(f.rule as u32), n),
                ],
            )
            .map_err(Error::internal)?
            .lazy(),
        );
    }
    problems.sort_by(|a, b| {
        b.1.rows
            .cmp(&a.1.rows)
            .then(a.0.cmp(&b.0))
            .then(a.1.rule.cmp(&b.1.rule))
    });
    let problems = problems.into_iter().map(|(_, p)| p).collect();
    let rows_read = height;
    let rows_quarantined = bad.sum().unwrap_or(0) as usize;

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

    let mut columns = vec![source_row];
    for spec in &specs {
        let dtype = contract_dtype(spec.ty);
        match checked.iter().find(|c| c.spec.name == spec.name) {
            Some(c) => columns.push(
                c.value
                    .cast(&dtype)
                    .map_err(Error::internal)?
                    .with_name(spec.name.into()),
            ),
            None => columns.push(Column::full_null(spec.name.into(), height, &dtype)),
        }
    }
    drop(checked);
    columns.extend(extras);
    let mut cases = DataFrame::new(height, columns).map_err(Error::internal)?;
    // Most nights nothing is quarantined: then the typed columns are the cases.
    if rows_quarantined > 0 {
        cases = cases.filter(&!&bad).map_err(Error::internal)?;
    }

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

impl Validated {
    /// Moves the valid rows `flag` marks (one flag per row of
    /// [`Validated::cases`]) into the quarantine for breaking `rule` in
    /// `column`: a rule that needs more than the row itself (a reference to
    /// another table, a date past the extract's). The bookkeeping is
    /// validation's own, so the counts still reconcile. Returns how many rows
    /// moved.
    pub fn quarantine(&mut self, column: &str, rule: Rule, flag: &BooleanChunked) -> Result<usize> {
        let n = flag.sum().unwrap_or(0) as usize;
        if n == 0 {
            return Ok(0);
        }
        let rows = self.cases.column(SOURCE_ROW).map_err(Error::internal)?;
        let rows = rows.filter(flag).map_err(Error::internal)?;
        let value = self
            .cases
            .column(column)
            .and_then(|c| c.filter(flag))
            .and_then(|c| c.cast(&DataType::String))
            .map_err(Error::internal)?;
        let piece = DataFrame::new(
            n,
            vec![
                rows.cast(
                    self.report
                        .quarantine
                        .column(SOURCE_ROW)
                        .map_err(Error::internal)?
                        .dtype(),
                )
                .map_err(Error::internal)?
                .with_name(SOURCE_ROW.into()),
                Column::new_scalar("column".into(), Scalar::from(PlSmallStr::from(column)), n),
                Column::new_scalar(
                    "rule".into(),
                    Scalar::from(PlSmallStr::from(rule.as_str())),
                    n,
                ),
                value.with_name("value".into()),
            ],
        )
        .map_err(Error::internal)?;
        let q = &mut self.report.quarantine;
        q.vstack_mut(&piece).map_err(Error::internal)?;
        *q = q
            .sort(
                [SOURCE_ROW],
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .map_err(Error::internal)?;
        self.cases = self.cases.filter(&!flag).map_err(Error::internal)?;
        let r = &mut self.report;
        r.rows_valid -= n;
        r.rows_quarantined += n;
        r.problems.push(ProblemCount {
            column: column.to_string(),
            rule,
            rows: n,
        });
        r.problems.sort_by_key(|p| std::cmp::Reverse(p.rows));
        debug_assert_eq!(r.rows_read, r.rows_valid + r.rows_quarantined);
        Ok(n)
    }
}

/// Flags every row after the first with the same key (its text and, when
/// the key has one, its date; every part parsed and present), by sorting key hashes
/// ([`safeflag_core::keys::repeated`]). Polars' `is_duplicated` on the two
/// columns took 3.8 s and 0.9 GB on 5M rows; this takes a fraction of a
/// second and 16 bytes a row.
fn duplicate_keys(child: &Column, date: Option<&Column>) -> Result<BooleanChunked> {
    let child = child.str().map_err(Error::internal)?;
    let keys: Vec<Option<(&str, i32)>> = match date {
        Some(date) => {
            let date = date.cast(&DataType::Int32).map_err(Error::internal)?;
            let date = date.i32().map_err(Error::internal)?;
            child
                .iter()
                .zip(date.iter())
                .map(|(c, d)| Some((c?, d?)))
                .collect()
        }
        None => child.iter().map(|c| Some((c?, 0))).collect(),
    };
    let flags = safeflag_core::keys::repeated(&keys);
    Ok(BooleanChunked::from_slice("dup".into(), &flags))
}

/// One contract column, cleaned, typed and checked: its typed value and, per
/// rule, the flag and the raw values of the flagged rows (for the quarantine).
struct CheckedColumn {
    spec: &'static ColumnSpec,
    value: Column,
    flags: Vec<(Flag, BooleanChunked, Column)>,
    /// The raw text, kept only for the columns the cross-column rules report.
    raw_text: Option<Column>,
}

/// The columns whose raw text the cross-column rules quote in the quarantine.
fn cross_rule_columns(table: &TableSpec) -> Vec<&'static str> {
    table
        .order
        .iter()
        .map(|o| o.flagged)
        .chain(table.key.map(|(text, _)| text))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn check_column(
    ci: usize,
    spec: &'static ColumnSpec,
    dtype: &DataType,
    codes: Option<&std::collections::BTreeMap<String, String>>,
    date_format: &str,
    iso: bool,
    raw: Column,
    keep_raw: bool,
) -> Result<CheckedColumn> {
    let plan = ColumnPlan::new(spec, dtype, codes, date_format, iso);
    let height = raw.len();
    let mut lf = DataFrame::new(height, vec![raw])
        .map_err(Error::internal)?
        .lazy();
    if let Some(clean) = plan.clean {
        lf = lf.with_column(clean);
    }
    let names: Vec<String> = plan
        .flags
        .iter()
        .map(|(rule, _)| format!("__f_{}", rule.as_str()))
        .collect();
    let mut exprs = vec![plan.value.alias(VALUE)];
    for ((_, e), name) in plan.flags.iter().zip(&names) {
        exprs.push(e.clone().fill_null(lit(false)).alias(name.as_str()));
    }
    exprs.push(col(spec.name).alias(RAW));
    let out = lf.select(exprs).collect().map_err(Error::internal)?;
    let raw_text = out.column(RAW).map_err(Error::internal)?;
    let mut flags = Vec::new();
    for ((rule, _), name) in plan.flags.iter().zip(&names) {
        let flag = out
            .column(name)
            .and_then(|c| c.bool().cloned())
            .map_err(Error::internal)?;
        // Only the flagged rows' raw values become text, not the whole column.
        let raw_values = if flag.any() {
            raw_text
                .filter(&flag)
                .and_then(|v| v.cast(&DataType::String))
                .map_err(Error::internal)?
        } else {
            Column::new_empty("value".into(), &DataType::String)
        };
        flags.push((Flag::new(ci, spec.name, *rule), flag, raw_values));
    }
    let value = out.column(VALUE).map_err(Error::internal)?.clone();
    let raw_text = keep_raw.then(|| raw_text.clone());
    Ok(CheckedColumn {
        spec,
        value,
        flags,
        raw_text,
    })
}

const VALUE: &str = "__value";
const RAW: &str = "__raw";

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
}

impl Flag {
    fn new(column_index: usize, column: &'static str, rule: Rule) -> Flag {
        Flag {
            column_index,
            column,
            rule,
        }
    }
}

/// Whether a column of this type can hold a contract value: scalars can (as
/// themselves or read as text); binary, nested and object columns cannot.
fn readable(dtype: &DataType) -> bool {
    !(dtype.is_nested()
        || matches!(
            dtype,
            DataType::Binary | DataType::BinaryOffset | DataType::Unknown(_)
        ))
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
                // An unsigned value past the signed range is out of range.
                let signed = value.clone().cast(DataType::Int64);
                flags.push((Rule::OutOfRange, int_range_flag(&value, &signed, min, max)));
            }
            return ColumnPlan {
                clean: None,
                value,
                flags,
            };
        }
        if let (ColumnType::Int { min, max }, DataType::Decimal(..)) = (spec.ty, dtype) {
            // A Decimal count (warehouse exports) is a number: whole values
            // are read, a fraction is not an integer.
            let v = col(name).cast(DataType::Float64);
            let whole = (v.clone() % lit(1.0f64)).eq(lit(0.0f64));
            // The whole values (a fraction is null here), then as integers.
            let whole_v = when(whole.clone()).then(v.clone()).otherwise(lit(NULL));
            let value = whole_v.clone().cast(DataType::Int64);
            if required {
                flags.push((Rule::MissingRequired, v.clone().is_null()));
            }
            flags.push((Rule::NotInteger, v.is_not_null().and(whole.not())));
            flags.push((Rule::OutOfRange, int_range_flag(&whole_v, &value, min, max)));
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

/// Out of range as an integer: `int` (the value as Int64) outside
/// `[min, max]`, or `raw` present but lost in the cast (too large for Int64).
fn int_range_flag(raw: &Expr, int: &Expr, min: i64, max: Option<i64>) -> Expr {
    let lost = raw.clone().is_not_null().and(int.clone().is_null());
    range_flag(int.clone(), min, max).or(lost)
}

fn range_flag(v: Expr, min: i64, max: Option<i64>) -> Expr {
    let low = v.clone().lt(lit(min));
    match max {
        Some(max) => low.or(v.gt(lit(max))),
        None => low,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_flag_every_later_copy_in_row_order() {
        // 20,000 rows over 3,000 children and 3 dates, with nulls: many repeats.
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        let (mut child, mut date) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            let c = next() % 3_000;
            child.push((c % 97 != 0).then(|| format!("K{c}")));
            date.push((next() % 50 != 0).then_some(20_000 + (next() % 3) as i32));
        }
        let child_col = Column::new("c".into(), &child);
        let date_col = Column::new("d".into(), &date)
            .cast(&DataType::Date)
            .unwrap();
        let got = duplicate_keys(&child_col, Some(&date_col)).unwrap();
        let mut seen = std::collections::HashSet::new();
        let want: Vec<bool> = child
            .iter()
            .zip(&date)
            .map(|(c, d)| match (c, d) {
                (Some(c), Some(d)) => !seen.insert((c.clone(), *d)),
                _ => false,
            })
            .collect();
        assert!(want.iter().filter(|&&b| b).count() > 1000);
        let got: Vec<bool> = got.iter().map(|b| b.unwrap()).collect();
        assert_eq!(got, want);
    }
}
