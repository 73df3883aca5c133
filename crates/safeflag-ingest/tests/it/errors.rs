//! Files that cannot be ingested get one clear error naming the file (and column).

use safeflag_ingest::{Error, Mapping};

use crate::*;

fn err(f: &Fixture) -> String {
    let e = ingest(&f.path, &IngestOptions::default()).unwrap_err();
    assert!(!e.is_internal(), "{e:?}");
    let msg = e.to_string();
    assert_eq!(msg.lines().count(), 1, "one line: {msg}");
    msg.replace(&*f.path.parent().unwrap().to_string_lossy(), "[TMP]")
}

#[test]
fn missing_file() {
    let f = Fixture {
        _dir: tempfile::tempdir().unwrap(),
        path: "/nonexistent/cases.csv".into(),
    };
    assert_eq!(err(&f), "`[TMP]/cases.csv` does not exist");
}

#[test]
fn unknown_format() {
    assert_eq!(
        err(&file("cases.xlsx", "x")),
        "`[TMP]/cases.xlsx` has an unknown format (extension `xlsx`); expected `.csv`, `.parquet` or `.arrow` (`.ipc`, `.feather`)"
    );
}

#[test]
fn empty_file() {
    assert_eq!(err(&file("cases.csv", "")), "`[TMP]/cases.csv` is empty");
}

#[test]
fn header_only() {
    assert_eq!(
        err(&file("cases.csv", format!("{HEADER}\n"))),
        "`[TMP]/cases.csv` has no data rows"
    );
}

#[test]
fn missing_required_columns_are_named() {
    let header = HEADER.replace("office,", "").replace(",prior_reports", "");
    let row = good_row(1);
    let mut fields: Vec<&str> = row.split(',').collect();
    fields.remove(17);
    fields.remove(3);
    let f = file("cases.csv", format!("{header}\n{}\n", fields.join(",")));
    assert_eq!(
        err(&f),
        "`[TMP]/cases.csv` lacks required columns `office`, `prior_reports`"
    );
}

#[test]
fn corrupt_parquet() {
    let msg = err(&file("cases.parquet", "PAR1 this is not parquet"));
    assert!(
        msg.starts_with("`[TMP]/cases.parquet` is not a readable parquet file:"),
        "{msg}"
    );
}

#[test]
fn mapping_naming_a_column_not_in_the_file() {
    let f = csv(&[good_row(1)]);
    let mapping = Mapping::from_toml("[columns]\n\"Case Number\" = \"case_id\"\n").unwrap();
    let e = ingest(
        &f.path,
        &IngestOptions::default().with_mapping(Some(mapping)),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Mapping { .. }));
    assert!(
        e.to_string()
            .contains("maps column `Case Number`, which is not in"),
        "{e}"
    );
}
