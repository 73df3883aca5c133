//! Reading an extract: its date, its eight tables, and the checks between them.
//!
//! Each table goes through ingest's validation (the snapshot's quarantine,
//! with the table's own columns and rules). Then come the rules no single row
//! can check: nothing recorded after the extract date, a disposition with the
//! date it became known, a birth date for every child, and references to
//! persons and cases that exist. A row that breaks one moves to its table's
//! quarantine with the rule, so rows read = valid + quarantined still holds
//! for every table. Then the gate, table by table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::keys::{self, CASE_CODE, Dicts, PERSON_CODE, attach};
use chrono::NaiveDate;
use polars::prelude::*;
use safeflag_core::contract::{Rule, TableSpec};
use safeflag_core::extract_contract::{self as xc, EXTRACT_TOML, TABLES};
use safeflag_core::keys::KnownKeys;
use safeflag_ingest::{IngestOptions, Mapping, MappingFile, Validated, ValidationReport};
use serde::Deserialize;

use crate::{Error, Result};

/// The file extensions a table may have, in the order they are looked for.
const EXTENSIONS: [&str; 6] = ["csv", "parquet", "pq", "arrow", "ipc", "feather"];

/// An agency's mapping for a whole extract: per table, its file name, its
/// column names and its codes; one date format for all.
///
/// ```toml
/// date-format = "%m/%d/%Y"
/// [tables.persons]
/// file = "PERSON.csv"
/// [tables.persons.columns]
/// PERS_ID = "person_id"
/// [tables.persons.codes.sex]
/// FEMALE = "F"
/// ```
#[derive(Debug, Clone, Default)]
pub struct ExtractMapping {
    tables: BTreeMap<&'static str, (Option<String>, Mapping)>,
    date_format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ExtractMappingFile {
    date_format: Option<String>,
    #[serde(default)]
    tables: BTreeMap<String, TableMappingFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableMappingFile {
    file: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    codes: BTreeMap<String, BTreeMap<String, String>>,
}

impl ExtractMapping {
    /// Reads and checks an extract mapping file against the extract contract.
    pub fn from_path(path: &Path) -> Result<ExtractMapping> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Mapping {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        ExtractMapping::from_toml(&text).map_err(|e| match e {
            Error::Mapping { message, .. } => Error::Mapping {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses and checks mapping TOML text.
    pub fn from_toml(text: &str) -> Result<ExtractMapping> {
        let bad = |message: String| Error::Mapping {
            path: PathBuf::from("<mapping>"),
            message,
        };
        let file: ExtractMappingFile =
            toml::from_str(text).map_err(|e| bad(e.message().to_string()))?;
        let mut tables = BTreeMap::new();
        for (name, t) in file.tables {
            let Some(spec) = xc::table(&name) else {
                return Err(bad(format!(
                    "`tables.{name}` is not a table of the extract (expected one of {})",
                    TABLES
                        .iter()
                        .map(|t| format!("`{}`", t.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            if let Some(file) = &t.file
                && (file.contains(['/', '\\']) || file == ".." || file.is_empty())
            {
                return Err(bad(format!(
                    "`tables.{name}.file` must be a file name in the extract directory, not a path"
                )));
            }
            let mapping = MappingFile {
                columns: t.columns,
                codes: t.codes,
                date_format: file.date_format.clone(),
            }
            .check(spec)
            .map_err(|e| bad(mapping_message(e)))?;
            tables.insert(spec.name, (t.file, mapping));
        }
        Ok(ExtractMapping {
            tables,
            date_format: file.date_format,
        })
    }

    fn for_table(&self, table: &TableSpec) -> (Option<&str>, Option<Mapping>) {
        match self.tables.get(table.name) {
            Some((file, m)) => (file.as_deref(), Some(m.clone())),
            None => (
                None,
                self.date_format.as_ref().map(|f| Mapping {
                    date_format: Some(f.clone()),
                    ..Mapping::default()
                }),
            ),
        }
    }
}

fn mapping_message(e: safeflag_ingest::Error) -> String {
    match e {
        safeflag_ingest::Error::Mapping { message, .. } => message,
        other => other.to_string(),
    }
}

/// Options of reading an extract.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The agency's mapping, if its extract does not use the contract's names.
    pub mapping: Option<ExtractMapping>,
    /// The data-quality gate: the largest quarantined share any one table may have.
    pub max_quarantined_share: f64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            mapping: None,
            max_quarantined_share: 0.05,
        }
    }
}

/// What validation found in one table.
#[derive(Debug, Clone)]
pub struct TableReport {
    /// The table.
    pub table: &'static str,
    /// The file it was read from.
    pub file: PathBuf,
    /// Ingest's report, with the checks between tables added.
    pub report: ValidationReport,
}

/// A validated extract: its date and its eight tables, typed to the contract.
#[derive(Debug, Clone)]
pub struct Extract {
    /// The extract date: nothing in the extract was recorded after it.
    pub extracted_on: NaiveDate,
    /// The valid rows of each table, in [`TABLES`] order: `source_row`, then
    /// the table's columns in contract order (extras carried after them),
    /// then the codes of its ids (`crate::keys`).
    tables: Vec<DataFrame>,
    /// How many cases and persons the codes number.
    pub(crate) coded: (usize, usize),
    /// What validation found, per table (empty for an extract built in memory).
    pub reports: Vec<TableReport>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ExtractToml {
    extracted_on: Option<toml::value::Datetime>,
}

/// Reads `extract.toml` for the extract date.
pub fn extract_date(dir: &Path) -> Result<NaiveDate> {
    let path = dir.join(EXTRACT_TOML);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoExtractToml {
                dir: dir.to_path_buf(),
            });
        }
        Err(e) => {
            return Err(Error::ExtractToml {
                path,
                message: e.to_string(),
            });
        }
    };
    let bad = |message: String| Error::ExtractToml {
        path: path.clone(),
        message,
    };
    let parsed: ExtractToml = toml::from_str(&text).map_err(|e| bad(e.message().to_string()))?;
    let Some(dt) = parsed.extracted_on else {
        return Err(bad(
            "no extract date: add `extracted-on = YYYY-MM-DD`".to_string()
        ));
    };
    match (dt.date, dt.time) {
        (Some(d), None) => NaiveDate::from_ymd_opt(i32::from(d.year), d.month.into(), d.day.into())
            .ok_or_else(|| bad(format!("`extracted-on` {dt} is not a calendar date"))),
        _ => Err(bad(format!(
            "`extracted-on` must be a date (YYYY-MM-DD), not `{dt}`"
        ))),
    }
}

/// Finds the file of one table in the extract directory.
fn table_file(dir: &Path, table: &'static TableSpec, named: Option<&str>) -> Result<PathBuf> {
    if let Some(name) = named {
        return Ok(dir.join(name));
    }
    let mut found: Vec<String> = EXTENSIONS
        .iter()
        .map(|ext| format!("{}.{ext}", table.name))
        .filter(|f| dir.join(f).exists())
        .collect();
    match found.len() {
        0 => Err(Error::MissingTable {
            dir: dir.to_path_buf(),
            table: table.name,
        }),
        1 => Ok(dir.join(found.remove(0))),
        _ => Err(Error::AmbiguousTable {
            dir: dir.to_path_buf(),
            table: table.name,
            first: found[0].clone(),
            second: found[1].clone(),
        }),
    }
}

/// Reads and validates an extract directory, then applies the gate to every table.
pub fn load(dir: &Path, options: &LoadOptions) -> Result<Extract> {
    let x = read(dir, options)?;
    x.check_gate(options.max_quarantined_share)?;
    Ok(x)
}

/// Reads and validates an extract directory without applying the gate (the
/// caller writes the quarantine first, then calls [`Extract::check_gate`]).
pub fn read(dir: &Path, options: &LoadOptions) -> Result<Extract> {
    let _span = tracing::info_span!("extract").entered();
    let extracted_on = extract_date(dir)?;
    let default_mapping = ExtractMapping::default();
    let mapping = options.mapping.as_ref().unwrap_or(&default_mapping);
    let mut validated = Vec::with_capacity(TABLES.len());
    let mut files = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let (named, table_mapping) = mapping.for_table(table);
        let file = table_file(dir, table, named)?;
        let opts = IngestOptions::default()
            .with_table(table)
            .with_mapping(table_mapping)
            .with_allow_empty(true);
        let v = safeflag_ingest::ingest(&file, &opts).map_err(|source| Error::Table {
            table: table.name,
            source,
        })?;
        tracing::debug!(table = table.name, rows = v.report.rows_read, "read");
        validated.push(v);
        files.push(file);
    }
    let coded = check_between_tables(&mut validated, extracted_on)?;
    let reports: Vec<TableReport> = TABLES
        .iter()
        .zip(&validated)
        .zip(files)
        .map(|((t, v), file)| TableReport {
            table: t.name,
            file,
            report: v.report.clone(),
        })
        .collect();
    Ok(Extract {
        extracted_on,
        tables: validated.into_iter().map(|v| v.cases).collect(),
        coded,
        reports,
    })
}

/// The first row of a quarantine: its number, column and rule (never its value).
fn first_problem(q: &DataFrame) -> Result<(u64, String, String)> {
    let text = |c: &str| -> Result<String> {
        Ok(q.column(c)?.str()?.get(0).unwrap_or_default().to_string())
    };
    let row = q
        .column(safeflag_ingest::SOURCE_ROW)?
        .cast(&DataType::UInt64)?
        .u64()?
        .get(0)
        .unwrap_or(0);
    Ok((row, text("column")?, text("rule")?))
}

pub(crate) fn index(name: &str) -> usize {
    TABLES
        .iter()
        .position(|t| t.name == name)
        .expect("a table of the contract")
}

/// A date as a polars literal.
pub(crate) fn date_lit(d: NaiveDate) -> Expr {
    lit(days(d)).cast(DataType::Date)
}

/// Days since 1970-01-01, as polars stores a date.
pub(crate) use safeflag_core::days::to_days as days;

/// A flag over a table's valid rows, from an expression.
fn flag(df: &DataFrame, e: Expr) -> Result<BooleanChunked> {
    let out = df
        .clone()
        .lazy()
        .select([e.fill_null(lit(false)).alias("f")])
        .collect()?;
    Ok(out.column("f")?.bool()?.clone())
}

/// The rules between tables (and against the extract date), in an order
/// where each sees the rows the earlier ones left valid.
/// Returns how many cases and persons are on record (the codes' ranges).
fn check_between_tables(v: &mut [Validated], extracted_on: NaiveDate) -> Result<(usize, usize)> {
    let end = date_lit(extracted_on);
    // Nothing may be recorded after the extract date.
    for table in TABLES {
        let i = index(table.name);
        let mut knowledge: Vec<&str> = xc::knowledge_column(table.name).into_iter().collect();
        if table.name == "reports" {
            knowledge.push("disposition_recorded_on");
        }
        for column in knowledge {
            let f = flag(&v[i].cases, col(column).gt(end.clone()))?;
            quarantine(v, i, column, Rule::RecordedAfterExtract, &f)?;
        }
    }
    // A finding must say when it became known, or it could never be counted safely.
    let r = index("reports");
    let f = flag(
        &v[r].cases,
        col("disposition")
            .is_not_null()
            .and(col("disposition").neq(lit("pending")))
            .and(col("disposition_recorded_on").is_null()),
    )?;
    quarantine(v, r, "disposition_recorded_on", Rule::MissingDependent, &f)?;
    // Every child needs a birth date. Few persons lack one (adults, mostly):
    // the child memberships are looked up among those few.
    let (p, m) = (index("persons"), index("case_members"));
    let person_ids = v[p].cases.column("person_id")?.str()?.clone();
    let no_birth = v[p].cases.column("birth_date")?.is_null();
    if no_birth.any() {
        let undated = KnownKeys::new(
            person_ids
                .iter()
                .zip(no_birth.iter())
                .map(|(id, n)| id.filter(|_| n == Some(true))),
        );
        let roles = v[m].cases.column("role")?.str()?.clone();
        let members = v[m].cases.column("person_id")?.str()?.clone();
        let child_ids: Vec<Option<&str>> = members
            .iter()
            .zip(roles.iter())
            .map(|(id, role)| id.filter(|_| role == Some("child")))
            .collect();
        let found = undated.absent(&child_ids);
        let undated_children = KnownKeys::new(
            child_ids
                .iter()
                .zip(found)
                .map(|(id, absent)| id.filter(|_| !absent)),
        );
        let ids: Vec<Option<&str>> = person_ids.iter().collect();
        let f: BooleanChunked = undated_children
            .absent(&ids)
            .into_iter()
            .zip(&ids)
            .map(|(absent, id)| Some(id.is_some() && !absent))
            .collect();
        quarantine(v, p, "birth_date", Rule::MissingDependent, &f)?;
    }
    // References, against the persons and cases left valid (a period's
    // case is its own): each id looked up once, its code kept beside the row.
    let person_ids = v[p].cases.column("person_id")?.str()?.clone();
    let case_ids = v[index("case_periods")]
        .cases
        .column("case_id")?
        .str()?
        .clone();
    let dicts = Dicts::new(&case_ids, &person_ids);
    for i in 0..TABLES.len() {
        let mut coded = dicts.code(i, &v[i].cases)?;
        // A row with two broken references moves once, for the first.
        let mut kept = vec![true; v[i].cases.height()];
        for c in &coded {
            let f: BooleanChunked = c
                .unknown()
                .zip(&kept)
                .filter(|(_, k)| **k)
                .map(|(u, _)| Some(u))
                .collect();
            quarantine(v, i, c.column, Rule::UnknownReference, &f)?;
            for (k, u) in kept.iter_mut().zip(c.unknown()) {
                *k &= !u;
            }
        }
        for c in &mut coded {
            let mut row = 0;
            c.codes.retain(|_| {
                row += 1;
                kept[row - 1]
            });
        }
        attach(&mut v[i].cases, coded)?;
    }
    Ok(dicts.sizes())
}

fn quarantine(
    v: &mut [Validated],
    i: usize,
    column: &str,
    rule: Rule,
    f: &BooleanChunked,
) -> Result<()> {
    v[i].quarantine(column, rule, f)
        .map_err(|source| Error::Table {
            table: TABLES[i].name,
            source,
        })
        .map(drop)
}

impl Extract {
    /// An extract built in memory from typed frames, one per table in
    /// [`TABLES`] order, already valid (the generator's, or a test's).
    pub fn from_frames(extracted_on: NaiveDate, tables: Vec<DataFrame>) -> Result<Extract> {
        if tables.len() != TABLES.len() {
            return Err(Error::Options(format!(
                "an extract has {} tables, not {}",
                TABLES.len(),
                tables.len()
            )));
        }
        let mut tables = tables;
        let coded = keys::code_all(&mut tables)?;
        Ok(Extract {
            extracted_on,
            tables,
            coded,
            reports: Vec::new(),
        })
    }

    /// Writes the extract into `dir` (created owner-only if need be): one
    /// file per table with the extension `ext` (`csv`, `parquet` or
    /// `arrow`), and `extract.toml`; each file atomically.
    pub fn write(&self, dir: &Path, ext: &str) -> Result<()> {
        safeflag_core::output::create_private_dir_all(dir).map_err(|source| {
            safeflag_core::output::OutputError {
                path: dir.to_path_buf(),
                source,
            }
        })?;
        for (t, df) in TABLES.iter().zip(&self.tables) {
            let mut df = df.drop_many([safeflag_ingest::SOURCE_ROW, CASE_CODE, PERSON_CODE]);
            safeflag_ingest::write_frame(&mut df, &dir.join(format!("{}.{ext}", t.name))).map_err(
                |source| Error::Table {
                    table: t.name,
                    source,
                },
            )?;
        }
        let toml = format!(
            "# The extract date: nothing in this extract was recorded after it.\nextracted-on = {}\n",
            self.extracted_on
        );
        safeflag_core::output::write_bytes_atomic(&dir.join(EXTRACT_TOML), toml.as_bytes())?;
        Ok(())
    }

    /// The valid rows of one table.
    pub fn table(&self, name: &str) -> &DataFrame {
        &self.tables[index(name)]
    }

    /// The data-quality gate, table by table: the first table whose
    /// quarantined share is over `limit` fails, naming its first problem.
    pub fn check_gate(&self, limit: f64) -> Result<()> {
        for r in &self.reports {
            if let Err(failure) = r.report.check_gate(limit) {
                return Err(Error::Gate {
                    table: r.table,
                    failure: Box::new(failure),
                    first: first_problem(&r.report.quarantine)?,
                });
            }
        }
        Ok(())
    }

    /// Every table's quarantine in one frame: `table`, `row`, `column`,
    /// `rule`, `value`, in table order then row order.
    pub fn quarantine(&self) -> Result<DataFrame> {
        let mut pieces = Vec::new();
        for t in &self.reports {
            let q = &t.report.quarantine;
            let n = q.height();
            let mut columns = vec![Column::new_scalar(
                "table".into(),
                Scalar::from(PlSmallStr::from(t.table)),
                n,
            )];
            columns.push(
                q.column(safeflag_ingest::SOURCE_ROW)?
                    .cast(&DataType::UInt64)?
                    .with_name("row".into()),
            );
            for c in ["column", "rule", "value"] {
                columns.push(q.column(c)?.clone());
            }
            pieces.push(DataFrame::new(n, columns)?.lazy());
        }
        if pieces.is_empty() {
            return Ok(DataFrame::new_infer_height(vec![
                Column::new_empty("table".into(), &DataType::String),
                Column::new_empty("row".into(), &DataType::UInt64),
                Column::new_empty("column".into(), &DataType::String),
                Column::new_empty("rule".into(), &DataType::String),
                Column::new_empty("value".into(), &DataType::String),
            ])?);
        }
        Ok(concat(pieces, UnionArgs::default())?.collect()?)
    }

    /// Rows read, valid and quarantined over all tables.
    pub fn counts(&self) -> (usize, usize, usize) {
        self.reports.iter().fold((0, 0, 0), |(r, v, q), t| {
            (
                r + t.report.rows_read,
                v + t.report.rows_valid,
                q + t.report.rows_quarantined,
            )
        })
    }

    /// The extract as it stood on `date`: only rows recorded by then, with
    /// the findings not yet recorded blanked, and every end date after
    /// `date` (not yet known: a period still open, a removal not yet
    /// discharged) blanked. Building a snapshot as of `date` from this gives
    /// the same rows as building it from the whole extract; that is the test
    /// of no leakage.
    pub fn known_on(&self, date: NaiveDate) -> Result<Extract> {
        let d = date_lit(date);
        let blank_after = |c: &str| {
            when(col(c).gt(d.clone()))
                .then(lit(NULL).cast(DataType::Date))
                .otherwise(col(c))
                .alias(c)
        };
        let mut tables = Vec::with_capacity(TABLES.len());
        for t in TABLES {
            let mut lf = self.table(t.name).clone().lazy();
            if let Some(k) = xc::knowledge_column(t.name) {
                lf = lf.filter(col(k).lt_eq(d.clone()));
            }
            lf = match t.name {
                "case_periods" | "case_members" => lf.with_column(blank_after("end_date")),
                "removals" => lf.with_column(blank_after("discharged_on")),
                "reports" => {
                    let unknown = col("disposition_recorded_on").gt(d.clone());
                    let blank = |c: &str, dtype: DataType| {
                        when(unknown.clone())
                            .then(lit(NULL).cast(dtype))
                            .otherwise(col(c))
                            .alias(c)
                    };
                    lf.with_columns([
                        blank("disposition", DataType::String),
                        blank("disposed_on", DataType::Date),
                        blank("disposition_recorded_on", DataType::Date),
                    ])
                }
                _ => lf,
            };
            tables.push(lf.collect()?);
        }
        Ok(Extract {
            extracted_on: date,
            tables,
            coded: self.coded,
            reports: Vec::new(),
        })
    }

    /// The same extract with every knowledge date replaced by the date the
    /// thing happened: what a builder that ignores knowledge dates sees. Only
    /// for showing how much such leakage inflates a model's test results.
    pub fn without_knowledge_dates(&self) -> Result<Extract> {
        let event_date = |t: &str| match t {
            "case_periods" | "case_members" => Some(("recorded_on", "start_date")),
            "reports" => Some(("recorded_on", "received_on")),
            "removals" => Some(("recorded_on", "removed_on")),
            "contacts" => Some(("recorded_on", "contact_on")),
            "assessments" => Some(("approved_on", "assessed_on")),
            "incidents" => Some(("recorded_on", "occurred_on")),
            _ => None,
        };
        let mut tables = Vec::with_capacity(TABLES.len());
        for t in TABLES {
            let mut lf = self.table(t.name).clone().lazy();
            if let Some((k, e)) = event_date(t.name) {
                lf = lf.with_column(col(e).alias(k));
            }
            if t.name == "reports" {
                lf = lf.with_column(
                    col("disposed_on")
                        .fill_null(col("disposition_recorded_on"))
                        .alias("disposition_recorded_on"),
                );
            }
            tables.push(lf.collect()?);
        }
        Ok(Extract {
            extracted_on: self.extracted_on,
            tables,
            coded: self.coded,
            reports: Vec::new(),
        })
    }
}
