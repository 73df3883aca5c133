//! Parquet and Arrow IPC inputs give the same validation as CSV.

use std::fs::File;

use crate::*;

fn write(df: &mut DataFrame, name: &str) -> Fixture {
    let f = file(name, b"");
    let out = File::create(&f.path).unwrap();
    if name.ends_with(".parquet") {
        ParquetWriter::new(out).finish(df).unwrap();
    } else {
        IpcWriter::new(out).finish(df).unwrap();
    }
    f
}

fn as_text_frame(rows: &[String]) -> DataFrame {
    let f = csv(rows);
    CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(f.path.clone()))
        .unwrap()
        .finish()
        .unwrap()
}

#[test]
fn text_columns_in_parquet_and_ipc_are_validated_like_csv() {
    let rows = vec![
        good_row(1),
        row_with(2, "snapshot_date", "2021-02-30"),
        good_row(3),
    ];
    let want = problems(&validate(&csv(&rows)));
    for name in ["cases.parquet", "cases.arrow"] {
        let f = write(&mut as_text_frame(&rows), name);
        assert_eq!(problems(&validate(&f)), want, "{name}");
    }
}

#[test]
fn typed_columns_are_accepted_and_still_checked() {
    let rows = vec![good_row(1), row_with(2, "prior_reports", "-4"), good_row(3)];
    let v = validate(&csv(&rows));
    // Typed frame: dates as Date, booleans as Boolean, counts as Int64.
    let mut typed = v.cases.drop("source_row").unwrap();
    let text = as_text_frame(&rows);
    let bad = text
        .column("prior_reports")
        .unwrap()
        .str()
        .unwrap()
        .get(1)
        .unwrap()
        .to_string();
    assert_eq!(bad, "-4");
    // Re-insert the bad row by stacking a typed copy with one negative count.
    let mut neg = typed.slice(0, 1);
    neg.replace(
        "prior_reports",
        Column::new("prior_reports".into(), [-4i64]),
    )
    .unwrap();
    neg.replace("child_id", Column::new("child_id".into(), ["K9"]))
        .unwrap();
    typed.vstack_mut(&neg).unwrap();
    let f = write(&mut typed, "typed.parquet");
    let v = validate(&f);
    assert_eq!(problems(&v), vec![p(3, "prior_reports", "out_of_range")]);
    assert_eq!(v.cases.schema().get("snapshot_date"), Some(&DataType::Date));
}
