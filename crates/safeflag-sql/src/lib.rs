//! The model as one SQL query, for scoring inside the agency's warehouse.
//!
//! Some agencies may not move case-level data out of their warehouse, and a
//! model that can be read as SQL is a model an auditor can read. The query
//! reads a table in the contract's shape (clean values: typed dates and
//! numbers, booleans, codes in their canonical spelling; see
//! [`create_table`]) and returns, for every row, `child_id, snapshot_date,
//! case_id, log_odds, probability, band, tier` and, for the logistic model,
//! each feature's exact contribution to the log-odds (`contribution_NAME`,
//! the same `w * (x - mean)` the reasons are ranked by).
//!
//! Every number is written as a cast of its shortest round-trip decimal to
//! the engine's double type, so the engine holds the same `f64` the model
//! does, and the log-odds are summed in the order safeflag's kernel sums
//! them: the probabilities agree to the last few bits, not just roughly.
//! Gradient-boosted trees become nested `CASE` expressions summed in tree
//! order after the base score, as forust sums them. Their contributions are
//! not written: safeflag explains trees by TreeSHAP, whose value for one
//! feature depends on the branches a row would take at every node of every
//! tree, not on the leaf it reaches, so it has no closed form per leaf that
//! a `CASE` could hold.
#![deny(missing_docs)]

use std::fmt::Write as _;

use safeflag_core::contract::{COLUMNS, ColumnType, Presence};
use safeflag_core::feature_spec::{FeatureDef, FeatureSpec, Input, Transform};
use safeflag_model::estimator::Tree;
use safeflag_model::{Estimator, ModelArtifact};

/// Errors of writing a model as SQL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The table name is not a plain (optionally schema-qualified) identifier.
    #[error(
        "the table name `{0}` is not a plain identifier (letters, digits and `_`, optionally `schema.table`)"
    )]
    TableName(String),
    /// The model cannot be written in SQL.
    #[error("the model cannot be written as SQL: {0}")]
    Model(String),
}

impl safeflag_core::Kinded for Error {
    fn kind(&self) -> safeflag_core::ErrorKind {
        safeflag_core::ErrorKind::Input
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// The SQL dialects the query is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Dialect {
    /// DuckDB.
    Duckdb,
    /// PostgreSQL.
    Postgres,
    /// Microsoft SQL Server (booleans as 0/1 `BIT`).
    Sqlserver,
    /// Oracle 12.2 or later (booleans as 0/1 `NUMBER(1)`).
    Oracle,
    /// Spark SQL (and Databricks).
    Spark,
    /// Snowflake.
    Snowflake,
    /// SQLite 3.35 or later built with its math functions (dates as
    /// `YYYY-MM-DD` text, booleans as 0/1).
    Sqlite,
}

impl Dialect {
    /// Every dialect.
    pub const ALL: [Dialect; 7] = [
        Dialect::Duckdb,
        Dialect::Postgres,
        Dialect::Sqlserver,
        Dialect::Oracle,
        Dialect::Spark,
        Dialect::Snowflake,
        Dialect::Sqlite,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Duckdb => "duckdb",
            Dialect::Postgres => "postgres",
            Dialect::Sqlserver => "sqlserver",
            Dialect::Oracle => "oracle",
            Dialect::Spark => "spark",
            Dialect::Snowflake => "snowflake",
            Dialect::Sqlite => "sqlite",
        }
    }

    fn double(self) -> &'static str {
        match self {
            Dialect::Duckdb | Dialect::Spark | Dialect::Snowflake => "DOUBLE",
            Dialect::Postgres => "DOUBLE PRECISION",
            Dialect::Sqlserver => "FLOAT",
            Dialect::Oracle => "BINARY_DOUBLE",
            Dialect::Sqlite => "REAL",
        }
    }

    fn boolean(self) -> &'static str {
        match self {
            Dialect::Sqlserver => "BIT",
            Dialect::Oracle => "NUMBER(1)",
            Dialect::Sqlite => "INTEGER",
            _ => "BOOLEAN",
        }
    }

    /// Whether a boolean column can stand alone as a condition.
    fn native_bool(self) -> bool {
        !matches!(self, Dialect::Sqlserver | Dialect::Oracle)
    }

    fn text(self) -> &'static str {
        match self {
            Dialect::Sqlserver => "NVARCHAR(400)",
            Dialect::Oracle => "VARCHAR2(400)",
            Dialect::Spark => "STRING",
            _ => "VARCHAR",
        }
    }

    fn integer(self) -> &'static str {
        match self {
            Dialect::Oracle => "NUMBER(19)",
            _ => "BIGINT",
        }
    }

    fn date(self) -> &'static str {
        match self {
            Dialect::Sqlite => "TEXT",
            _ => "DATE",
        }
    }

    /// Days from `from` to `to` (both dates).
    fn days_between(self, from: &str, to: &str) -> String {
        match self {
            Dialect::Duckdb => format!("date_diff('day', {from}, {to})"),
            Dialect::Postgres | Dialect::Oracle => format!("({to} - {from})"),
            Dialect::Sqlserver | Dialect::Snowflake => format!("DATEDIFF(day, {from}, {to})"),
            Dialect::Spark => format!("datediff({to}, {from})"),
            Dialect::Sqlite => {
                format!("CAST(julianday({to}) - julianday({from}) AS INTEGER)")
            }
        }
    }

    /// `text` cast to `ty`, `NULL` when it is not one (an integer, or a
    /// `YYYY-MM-DD` date).
    fn try_cast(self, text: &str, ty: &str, date: bool) -> String {
        let pattern_pg = if date {
            "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
        } else {
            "^-?[0-9]+$"
        };
        match self {
            Dialect::Duckdb | Dialect::Sqlserver | Dialect::Snowflake | Dialect::Spark => {
                format!("TRY_CAST({text} AS {ty})")
            }
            Dialect::Postgres => {
                format!("CASE WHEN {text} ~ '{pattern_pg}' THEN CAST({text} AS {ty}) END")
            }
            Dialect::Oracle if date => format!(
                "CASE WHEN REGEXP_LIKE({text}, '{pattern_pg}') THEN TO_DATE({text}, 'YYYY-MM-DD') END"
            ),
            Dialect::Oracle => format!(
                "CASE WHEN REGEXP_LIKE({text}, '{pattern_pg}') THEN CAST({text} AS {ty}) END"
            ),
            Dialect::Sqlite if date => format!(
                "CASE WHEN glob('[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]', {text}) AND date({text}) = {text} THEN {text} END"
            ),
            Dialect::Sqlite => format!(
                "CASE WHEN glob('[0-9]*', {text}) AND NOT glob('*[^0-9]*', {text}) THEN CAST({text} AS INTEGER) END"
            ),
        }
    }

    /// The CTE hint that keeps a step's rows instead of inlining it.
    fn materialize(self) -> &'static str {
        match self {
            Dialect::Sqlite | Dialect::Postgres => "MATERIALIZED ",
            _ => "",
        }
    }

    fn ln(self) -> &'static str {
        match self {
            Dialect::Sqlserver => "LOG",
            _ => "LN",
        }
    }

    /// A quoted identifier.
    fn ident(self, name: &str) -> String {
        match self {
            Dialect::Spark => format!("`{name}`"),
            _ => format!("\"{name}\""),
        }
    }

    /// A number the engine holds as exactly this `f64`.
    fn num(self, v: f64) -> String {
        // Rust writes the shortest decimal that reads back as the same f64;
        // every engine's cast from a decimal to its double rounds correctly.
        format!("CAST({v:?} AS {})", self.double())
    }
}

/// The query: every row of `table` scored by `model`.
pub fn query(model: &ModelArtifact, dialect: Dialect, table: &str) -> Result<String> {
    check_table(table)?;
    let c = &model.content;
    let spec = &c.feature_spec;
    spec.interactions()
        .map_err(|e| Error::Model(format!("the feature spec: {e}")))?;
    let d = dialect;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "-- safeflag model {} ({}), written for {} by safeflag {}.\n\
         -- Reads {table}: the contract's columns with clean values (docs/warehouse.md).\n\
         -- Returns every row's log-odds, calibrated probability, band (1-20) and tier{}.",
        model.id(),
        c.estimator.kind().as_str(),
        d.as_str(),
        env!("CARGO_PKG_VERSION"),
        if matches!(c.estimator, Estimator::Logistic(_)) {
            ", and each feature's contribution to the log-odds"
        } else {
            ""
        }
    );
    // SQLite and PostgreSQL inline a CTE into each place that reads it, so
    // the band's twenty comparisons would each recompute the probability,
    // and it every feature: there each step is computed once and kept.
    let m = d.materialize();
    // 1. The features, from the contract columns.
    let _ = writeln!(
        s,
        "WITH features AS {m}(\n  SELECT child_id, snapshot_date, case_id,"
    );
    let names = spec.names();
    let exprs: Vec<String> = spec
        .features
        .iter()
        .map(|f| feature(d, spec, &f.transform))
        .collect::<Result<_>>()?;
    let mut lines: Vec<String> = exprs
        .iter()
        .zip(&names)
        .map(|(e, n)| format!("    {e} AS {}", d.ident(&format!("f_{n}"))))
        .collect();
    // The counts whose logarithm a tree may split on, as counts (`goes_left`).
    for f in &spec.features {
        if let Some(column) = count_of(f) {
            lines.push(format!(
                "    COALESCE({column}, 0) AS {}",
                d.ident(&format!("n_{}", f.name))
            ));
        }
    }
    let _ = writeln!(s, "{}\n  FROM {table}\n),", lines.join(",\n"));
    // 2. The log-odds (and the contributions).
    let f = |n: &str| d.ident(&format!("f_{n}"));
    let mut items = vec!["child_id, snapshot_date, case_id".to_string()];
    let mut contributions = Vec::new();
    match &c.estimator {
        Estimator::Logistic(m) => {
            // Summed in the kernel's order: the intercept, then each feature.
            let mut z = d.num(m.intercept);
            for (w, n) in m.weights.iter().zip(&names) {
                let _ = write!(z, "\n      + {} * {}", d.num(*w), f(n));
            }
            items.push(format!("{z} AS log_odds"));
            for ((w, mu), n) in m.weights.iter().zip(&m.means).zip(&names) {
                contributions.push(format!("contribution_{n}"));
                items.push(format!(
                    "{} * ({} - {}) AS contribution_{n}",
                    d.num(*w),
                    f(n),
                    d.num(*mu)
                ));
            }
        }
        Estimator::Gbm(m) => {
            let b = &m.booster;
            if b.prediction_iteration.is_some_and(|i| i != b.trees.len()) {
                return Err(Error::Model(
                    "the booster predicts with fewer trees than it holds".into(),
                ));
            }
            // The base score, then each tree in order, as forust sums them.
            let mut z = d.num(b.base_score);
            for tree in &b.trees {
                let _ = write!(z, "\n      + {}", tree_case(d, tree, 0, spec)?);
            }
            items.push(format!("{z} AS log_odds"));
        }
    }
    let _ = writeln!(
        s,
        "scored AS {m}(\n  SELECT {}\n  FROM features\n),",
        items.join(",\n    ")
    );
    // 3. The calibrated probability.
    let (a, b) = (c.calibration.a, c.calibration.b);
    let carried: String = contributions.iter().map(|n| format!(", {n}")).collect();
    let _ = writeln!(
        s,
        "calibrated AS {m}(\n  SELECT child_id, snapshot_date, case_id, log_odds,\n    {} / ({} + EXP(-({} * log_odds + {}))) AS probability{carried}\n  FROM scored\n),",
        d.num(1.0),
        d.num(1.0),
        d.num(a),
        d.num(b)
    );
    // 4. The band: 1 + the number of cut-points at or below the probability.
    let mut band = String::from("CASE");
    for (i, cut) in c.bands.cuts.iter().enumerate().rev() {
        let _ = write!(
            band,
            "\n      WHEN probability >= {} THEN {}",
            d.num(*cut),
            i + 2
        );
    }
    band.push_str("\n      ELSE 1 END");
    let _ = writeln!(
        s,
        "banded AS {m}(\n  SELECT child_id, snapshot_date, case_id, log_odds, probability,\n    {band} AS band{carried}\n  FROM calibrated\n)"
    );
    let _ = writeln!(
        s,
        "SELECT child_id, snapshot_date, case_id, log_odds, probability, band,\n  CASE WHEN band >= 15 THEN 'high' WHEN band >= 10 THEN 'medium' ELSE 'low' END AS tier{carried}\nFROM banded"
    );
    Ok(s)
}

/// One feature's expression over the contract columns (interactions
/// expanded to the product of their sides' expressions).
fn feature(d: Dialect, spec: &FeatureSpec, t: &Transform) -> Result<String> {
    let one_if = |cond: String| {
        format!(
            "CASE WHEN {cond} THEN {} ELSE {} END",
            d.num(1.0),
            d.num(0.0)
        )
    };
    let as_double = |c: &str| format!("CAST({c} AS {})", d.double());
    Ok(match t {
        Transform::AgeBand { min_days, max_days } => {
            let age = d.days_between("child_birth_date", "snapshot_date");
            match max_days {
                Some(max) => one_if(format!("{age} >= {min_days} AND {age} < {max}")),
                None => one_if(format!("{age} >= {min_days}")),
            }
        }
        Transform::Code {
            column,
            codes,
            or_missing,
        } => {
            let list: Vec<String> = codes.iter().map(|c| text_literal(c)).collect();
            let cond = format!("{column} IN ({})", list.join(", "));
            one_if(if *or_missing {
                format!("({cond} OR {column} IS NULL)")
            } else {
                cond
            })
        }
        Transform::IsTrue { column } => one_if(if d.native_bool() {
            column.clone()
        } else {
            format!("{column} = 1")
        }),
        Transform::Missing { column } => one_if(format!("{column} IS NULL")),
        Transform::Positive { column } => one_if(format!("{column} > 0")),
        Transform::Below { column, threshold } => {
            one_if(format!("{} < {}", as_double(column), d.num(*threshold)))
        }
        Transform::Log1p { column } => format!(
            "COALESCE({}({} + {}), {})",
            d.ln(),
            d.num(1.0),
            as_double(column),
            d.num(0.0)
        ),
        Transform::Capped { column, cap } => {
            // Times the reciprocal, as safeflag's kernel computes it (x / cap
            // can differ from it in the last bit, and a tree may split there).
            let v = as_double(column);
            format!(
                "COALESCE(CASE WHEN {v} > {cap} THEN {cap} ELSE {v} END * {scale}, {zero})",
                cap = d.num(*cap),
                scale = d.num(1.0 / cap),
                zero = d.num(0.0)
            )
        }
        Transform::Hinge { input, from, to } => {
            // Clamped, less the knot, times the reciprocal of the width, as
            // safeflag's kernel computes it.
            let v = match input {
                Input::AgeDays => as_double(&d.days_between("child_birth_date", "snapshot_date")),
                Input::Column(c) => as_double(c),
            };
            let (lo, hi) = (d.num(*from), d.num(*to));
            format!(
                "COALESCE((CASE WHEN {v} < {lo} THEN {lo} WHEN {v} > {hi} THEN {hi} ELSE {v} END - {lo}) * {scale}, {zero})",
                scale = d.num(1.0 / (to - from)),
                zero = d.num(0.0)
            )
        }
        Transform::Interaction { left, right } => {
            let side = |name: &str| -> Result<String> {
                let def = spec
                    .features
                    .iter()
                    .find(|f| f.name == name)
                    .ok_or_else(|| Error::Model(format!("no feature named `{name}`")))?;
                feature(d, spec, &def.transform)
            };
            format!("({}) * ({})", side(left)?, side(right)?)
        }
    })
}

/// A tree as nested `CASE` expressions: a row goes left when its feature is
/// below the split value, as forust's `get_child_idx` sends it (the features
/// are never missing: the spec fills every gap).
fn tree_case(d: Dialect, tree: &Tree, node: usize, spec: &FeatureSpec) -> Result<String> {
    let n = tree
        .nodes
        .get(node)
        .ok_or_else(|| Error::Model(format!("a tree has no node {node}")))?;
    if n.is_leaf {
        return Ok(d.num(f64::from(n.weight_value)));
    }
    let feature = spec
        .features
        .get(n.split_feature)
        .ok_or_else(|| Error::Model(format!("a tree splits on feature {}", n.split_feature)))?;
    Ok(format!(
        "(CASE WHEN {} THEN {} ELSE {} END)",
        goes_left(d, feature, n.split_value),
        tree_case(d, tree, n.left_child, spec)?,
        tree_case(d, tree, n.right_child, spec)?
    ))
}

/// The condition `feature < split`. A tree's split values are feature values
/// seen in training, so a value one bit off in the engine would take the
/// other branch: `ln(1 + x)` in SQL can differ from safeflag's `ln_1p` in
/// the last bit, so a split on a count's logarithm is tested on the count
/// itself, against the smallest count whose `ln_1p` reaches the split
/// (computed here with the function safeflag's features use).
fn goes_left(d: Dialect, feature: &FeatureDef, split: f64) -> String {
    if count_of(feature).is_some() {
        let count = d.ident(&format!("n_{}", feature.name));
        return format!("{count} < {}", count_threshold(split));
    }
    format!(
        "{} < {}",
        d.ident(&format!("f_{}", feature.name)),
        d.num(split)
    )
}

/// The count column of a feature that is the logarithm of a count.
fn count_of(feature: &FeatureDef) -> Option<&str> {
    match &feature.transform {
        Transform::Log1p { column }
            if matches!(
                safeflag_core::contract::column(column).map(|c| c.ty),
                Some(ColumnType::Int { .. })
            ) =>
        {
            Some(column)
        }
        _ => None,
    }
}

/// The smallest count `n >= 0` with `ln_1p(n) >= split`: for a count `x`,
/// `ln_1p(x) < split` exactly when `x < n`.
fn count_threshold(split: f64) -> i64 {
    if split.is_nan() || split <= 0.0 {
        return 0;
    }
    let mut n = (split.exp_m1().floor() as i64 - 2).max(0);
    while ((n as f64).ln_1p()) < split {
        n += 1;
    }
    n
}

/// A text literal with its quotes doubled.
fn text_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn check_table(table: &str) -> Result<()> {
    let part = |p: &str| {
        let mut c = p.chars();
        c.next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
            && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
    };
    let parts: Vec<&str> = table.split('.').collect();
    if parts.len() <= 2 && parts.iter().all(|p| part(p)) {
        Ok(())
    } else {
        Err(Error::TableName(table.to_string()))
    }
}

/// `CREATE VIEW table AS ...` over `raw`, a table holding the contract's
/// columns as text the way an extract delivers them: each value trimmed, the
/// missing spellings (empty, `NA`, `N/A`, `null`, in any case) made `NULL`,
/// codes matched to their canonical spelling in any case, booleans from
/// their accepted spellings, numbers and dates cast. This is the cleaning
/// safeflag's validation does, without its quarantine: a value the contract
/// refuses becomes `NULL` here, where safeflag would set the row aside, so
/// `safeflag validate` on the same extract finds the rows to look at.
pub fn clean_view(dialect: Dialect, table: &str, raw: &str) -> Result<String> {
    use safeflag_core::contract::{FALSE_SPELLINGS, MISSING_SPELLINGS, TRUE_SPELLINGS};
    check_table(table)?;
    check_table(raw)?;
    let d = dialect;
    let list = |v: &[&str]| {
        v.iter()
            .map(|s| text_literal(&s.to_lowercase()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing = list(MISSING_SPELLINGS);
    let columns: Vec<String> = COLUMNS
        .iter()
        .filter(|c| c.presence != Presence::Outcome)
        .map(|c| {
            let n = c.name;
            let t = format!(
                "CASE WHEN TRIM({n}) = '' OR LOWER(TRIM({n})) IN ({missing}) THEN NULL ELSE TRIM({n}) END"
            );
            let e = match c.ty {
                ColumnType::Text => t,
                ColumnType::Enum { codes } => {
                    let arms: String = codes
                        .iter()
                        .map(|code| {
                            format!(
                                " WHEN {} THEN {}",
                                text_literal(&code.to_lowercase()),
                                text_literal(code)
                            )
                        })
                        .collect();
                    format!("CASE LOWER({t}){arms} END")
                }
                ColumnType::Bool => {
                    let (yes, no) = if d.native_bool() {
                        ("TRUE", "FALSE")
                    } else {
                        ("1", "0")
                    };
                    format!(
                        "CASE WHEN LOWER({t}) IN ({}) THEN {yes} WHEN LOWER({t}) IN ({}) THEN {no} END",
                        list(TRUE_SPELLINGS),
                        list(FALSE_SPELLINGS)
                    )
                }
                ColumnType::Int { .. } => d.try_cast(&t, d.integer(), false),
                ColumnType::Date => d.try_cast(&t, d.date(), true),
            };
            format!("  {e} AS {n}")
        })
        .collect();
    Ok(format!(
        "CREATE VIEW {table} AS\nSELECT\n{}\nFROM {raw};\n",
        columns.join(",\n")
    ))
}

/// `CREATE TABLE` for the contract's columns in `dialect`'s types: the
/// shape (and the clean values) the query reads.
pub fn create_table(dialect: Dialect, table: &str) -> Result<String> {
    check_table(table)?;
    let d = dialect;
    let columns: Vec<String> = COLUMNS
        .iter()
        .filter(|c| c.presence != Presence::Outcome)
        .map(|c| {
            let ty = match c.ty {
                ColumnType::Text | ColumnType::Enum { .. } => d.text(),
                ColumnType::Date => d.date(),
                ColumnType::Bool => d.boolean(),
                ColumnType::Int { .. } => d.integer(),
            };
            let null = if c.presence == Presence::Required {
                " NOT NULL"
            } else {
                ""
            };
            format!("  {} {ty}{null}", c.name)
        })
        .collect();
    Ok(format!(
        "CREATE TABLE {table} (\n{}\n);\n",
        columns.join(",\n")
    ))
}

#[cfg(test)]
mod tests;
