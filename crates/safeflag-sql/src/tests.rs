//! The generated SQL parsed by a SQL parser for each dialect; the engines
//! that can run here run it in the CLI's tests (`tests/it/sql.rs`).

use std::path::Path;

use safeflag_model::ModelArtifact;
use sqlparser::dialect::dialect_from_str;
use sqlparser::parser::Parser;

use super::*;

fn default_model() -> ModelArtifact {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/default");
    ModelArtifact::load(&dir).unwrap()
}

/// The sqlparser dialect closest to each of ours.
pub fn parser_name(d: Dialect) -> &'static str {
    match d {
        Dialect::Duckdb => "duckdb",
        Dialect::Postgres => "postgresql",
        Dialect::Sqlserver => "mssql",
        Dialect::Oracle => "oracle",
        Dialect::Spark => "databricks",
        Dialect::Snowflake => "snowflake",
        Dialect::Sqlite => "sqlite",
    }
}

#[test]
fn every_dialect_parses_and_names_every_feature() {
    let model = default_model();
    let names = model.content.feature_spec.names();
    for d in Dialect::ALL {
        let sql = query(&model, d, "cases").unwrap();
        let dialect = dialect_from_str(parser_name(d)).unwrap();
        // sqlparser's SQLite dialect does not know the `AS MATERIALIZED` hint
        // (SQLite has it since 3.35, and runs the query in the CLI's tests).
        let parseable = if d == Dialect::Sqlite {
            sql.replace(" AS MATERIALIZED (", " AS (")
        } else {
            sql.clone()
        };
        let parsed = Parser::parse_sql(dialect.as_ref(), &parseable)
            .unwrap_or_else(|e| panic!("{}: {e}\n{sql}", d.as_str()));
        assert_eq!(parsed.len(), 1, "{}", d.as_str());
        for n in &names {
            assert!(sql.contains(&format!("AS contribution_{n}")), "{n}");
        }
        let view = clean_view(d, "cases", "raw_cases").unwrap();
        Parser::parse_sql(dialect.as_ref(), &view)
            .unwrap_or_else(|e| panic!("{} view: {e}\n{view}", d.as_str()));
        let ddl = create_table(d, "cases").unwrap();
        Parser::parse_sql(dialect.as_ref(), &ddl)
            .unwrap_or_else(|e| panic!("{} DDL: {e}\n{ddl}", d.as_str()));
    }
}

#[test]
fn every_number_reads_back_as_the_models_own() {
    let model = default_model();
    let sql = query(&model, Dialect::Postgres, "cases").unwrap();
    let Estimator::Logistic(m) = &model.content.estimator else {
        panic!("the default model is logistic");
    };
    for w in m.weights.iter().chain([&m.intercept]) {
        assert!(
            sql.contains(&format!("CAST({w:?} AS DOUBLE PRECISION)")),
            "{w}"
        );
    }
    for cut in &model.content.bands.cuts {
        assert!(sql.contains(&format!(">= CAST({cut:?} AS DOUBLE PRECISION) THEN")));
    }
}

#[test]
fn a_table_name_that_is_not_an_identifier_is_refused() {
    let model = default_model();
    for bad in [
        "cases; DROP TABLE x",
        "a.b.c",
        "",
        "1cases",
        "ca ses",
        "x\"y",
    ] {
        assert!(matches!(
            query(&model, Dialect::Duckdb, bad),
            Err(Error::TableName(_))
        ));
    }
    assert!(query(&model, Dialect::Duckdb, "warehouse.open_cases").is_ok());
}

#[test]
fn a_split_on_a_counts_logarithm_is_tested_on_the_count() {
    // ln_1p(3) = ln 4: counts below 3 go left, 3 and above go right.
    let s = 3f64.ln_1p();
    assert_eq!(count_threshold(s), 3);
    assert_eq!(count_threshold(s - 1e-12), 3);
    assert_eq!(count_threshold(s + 1e-12), 4);
    assert_eq!(count_threshold(0.0), 0);
    assert_eq!(count_threshold(-1.0), 0);
    for x in 0..2000i64 {
        for split in [0.5, 1.0, 2.2, 3.3, 5.0, 7.6] {
            assert_eq!((x as f64).ln_1p() < split, x < count_threshold(split));
        }
    }
}
