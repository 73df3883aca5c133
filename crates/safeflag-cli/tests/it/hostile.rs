//! Hostile input end to end: a record the CSV reader could merge, formula
//! payloads in every text a supervisor opens, recipient names that collide
//! or cannot be file names, and a hostile umask.

use std::collections::BTreeSet;
use std::path::Path;

use polars::prelude::*;

use crate::*;

/// The sample snapshot with line `line` (1-based, header = 1) given `value`
/// in column `col`, written raw (no quoting) into `dir/name`.
fn with_field(dir: &Path, name: &str, line: usize, col: usize, value: &str) {
    let text = std::fs::read_to_string(sample("snapshot.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut fields: Vec<&str> = lines[line - 1].split(',').collect();
    fields[col] = value;
    lines[line - 1] = fields.join(",");
    std::fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
}

/// An undoubled quote inside a quoted field: refused, naming the line and
/// not the text, instead of letting a reader merge two records.
#[test]
fn a_stray_quote_is_refused_naming_its_line_never_its_text() {
    let dir = tempfile::tempdir().unwrap();
    for (value, what) in [
        (r#""R""iver"side""#, "goes on after its closing quote"),
        (r#"Riv"er"#, "a quote inside an unquoted field"),
        (r#""Riverside"#, "never closed"),
    ] {
        with_field(dir.path(), "q.csv", 501, 3, value);
        let out = safeflag(dir.path(), &["validate", "q.csv"]);
        assert_eq!(out.status.code(), Some(1), "{value}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("line 501") && err.contains(what),
            "{value}: {err}"
        );
        assert!(!err.contains("iver"), "no case data in errors: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // A field of megabytes with a stray quote: the error stays one short line.
    with_field(
        dir.path(),
        "big.csv",
        501,
        3,
        &format!("{}\"x", "R".repeat(2 << 20)),
    );
    let out = safeflag(dir.path(), &["validate", "big.csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).len() < 300, "{} bytes", stderr(&out).len());
    // Blank trailing lines are not records.
    let text = std::fs::read_to_string(sample("snapshot.csv")).unwrap();
    std::fs::write(dir.path().join("b.csv"), text + "\n\n\n").unwrap();
    let out = safeflag(dir.path(), &["validate", "b.csv", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("\"rows_read\": 10000"));
}

/// Every cell of every CSV under `dir` that a person opens.
fn csv_cells(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            csv_cells(&path, out);
        } else if path.extension().is_some_and(|e| e == "csv") {
            let df = read_csv(&path);
            for c in df.columns() {
                for v in c.str().unwrap().iter().flatten() {
                    out.push((path.display().to_string(), v.to_string()));
                }
            }
        }
    }
}

/// Offices whose names collide in case or punctuation, are non-ASCII only,
/// are longer than a file name allows, or are formulas; formula payloads in
/// worker, supervisor and case ids; a umask of 000. The night publishes
/// every office's file, no CSV cell starts a formula, and every folder it
/// made is 0700 and every file 0600.
#[test]
fn odd_names_and_formula_payloads_never_stop_the_night() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let long = "N".repeat(300);
    let offices = [
        "Northside",
        "NORTHSIDE",
        "North-side",
        "Ωμέγα",
        long.as_str(),
        "=HYPERLINK(\"http://evil.example\",\"open\")",
    ];
    let mut df = read_csv(&sample("snapshot.csv"));
    let n = df.height();
    let office: Vec<&str> = (0..n).map(|i| offices[i % offices.len()]).collect();
    df.with_column(Column::new("office".into(), office))
        .unwrap();
    let worker: Vec<String> = (0..n).map(|i| format!("+cmd|' /C calc'!A{i}")).collect();
    df.with_column(Column::new("worker_id".into(), worker))
        .unwrap();
    let sup: Vec<String> = (0..n).map(|i| format!("@SUM({})", i % 7)).collect();
    df.with_column(Column::new("supervisor_id".into(), sup))
        .unwrap();
    let mut f = std::fs::File::create(d.join("snapshot.csv")).unwrap();
    CsvWriter::new(&mut f).finish(&mut df).unwrap();
    let model = repo().join("models/default");
    std::fs::write(
        d.join("safeflag.toml"),
        format!(
            "[input]\nsnapshot = \"snapshot.csv\"\n[model]\ndir = \"{}\"\n[queue]\ntop = 60\n\
             [export]\nby = [\"office\", \"supervisor\"]\nformats = [\"xlsx\", \"csv\"]\n",
            model.display()
        ),
    )
    .unwrap();

    let bin = std::env::var_os("SAFEFLAG_TEST_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_safeflag").into());
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask 000; exec '{}' nightly -q", bin.display()))
        .current_dir(d)
        .env_remove("RUST_LOG")
        .env_remove("SAFEFLAG_FAULT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let run = d.join("out/runs/2025-11-21");
    let queue = read_csv(&run.join("queue.csv"));
    let queued: BTreeSet<String> = queue
        .column("office")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .map(|o| o.trim_start_matches('\'').to_string())
        .collect();
    assert!(queued.len() >= 5, "most offices are queued: {queued:?}");
    for format in ["xlsx", "csv"] {
        let files: Vec<_> = std::fs::read_dir(run.join(format!("exports/office-{format}")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(format))
            .collect();
        assert_eq!(
            files.len(),
            queued.len(),
            "one {format} file per office: {files:?}"
        );
    }

    let mut cells = Vec::new();
    csv_cells(&run, &mut cells);
    assert!(cells.len() > 1000);
    for (file, v) in &cells {
        assert!(
            !v.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "{file}: a cell starts a formula: {v:?}"
        );
    }
    assert!(cells.iter().any(|(_, v)| v.starts_with("'=HYPERLINK")));

    let mut dirs = vec![d.join("out"), d.join("state")];
    while let Some(p) = dirs.pop() {
        assert_eq!(mode(&p), 0o700, "{}", p.display());
        for e in std::fs::read_dir(&p).unwrap() {
            let e = e.unwrap().path();
            if e.is_dir() {
                dirs.push(e);
            } else {
                assert_eq!(mode(&e), 0o600, "{}", e.display());
            }
        }
    }
}

/// The sample snapshot as Parquet through arrow-rs, with `column` replaced
/// by `array` (an agency's warehouse export keeps its own types).
fn parquet_with(dir: &Path, name: &str, column: &str, array: arrow_array::ArrayRef) {
    let mut df = read_csv(&sample("snapshot.csv"));
    let plain = dir.join("plain.parquet");
    ParquetWriter::new(std::fs::File::create(&plain).unwrap())
        .finish(&mut df)
        .unwrap();
    let f = std::fs::File::open(&plain).unwrap();
    let batches: Vec<arrow_array::RecordBatch> =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .with_batch_size(1 << 20)
            .build()
            .unwrap()
            .map(|b| b.unwrap())
            .collect();
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    let columns: Vec<(String, arrow_array::ArrayRef)> = b
        .schema()
        .fields()
        .iter()
        .zip(b.columns())
        .map(|(f, c)| {
            let c = if f.name() == column {
                array.clone()
            } else {
                c.clone()
            };
            (f.name().clone(), c)
        })
        .collect();
    let batch = arrow_array::RecordBatch::try_from_iter(columns).unwrap();
    let out = std::fs::File::create(dir.join(name)).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(out, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn validate_json(dir: &Path, file: &str) -> (Option<i32>, String, String) {
    let out = safeflag(dir, &["validate", file, "--max-quarantine", "1", "--json"]);
    (out.status.code(), stdout(&out), stderr(&out))
}

/// What warehouse exports hold: Decimal counts (read as numbers, a fraction
/// quarantined), an unsigned count above the signed range (quarantined, not
/// turned into a missing value), and binary or list columns (a one-line
/// input error naming the column, never a panic or an internal error).
#[test]
fn warehouse_column_types_are_read_or_refused_by_name() {
    use arrow_array::{ArrayRef, BinaryArray, Decimal128Array, ListArray, UInt64Array};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 10_000;

    let whole: ArrayRef = Arc::new(
        Decimal128Array::from((0..n).map(|i| Some((i % 4) as i128)).collect::<Vec<_>>())
            .with_precision_and_scale(10, 0)
            .unwrap(),
    );
    parquet_with(d, "decimal.parquet", "prior_reports", whole);
    let (code, out, err) = validate_json(d, "decimal.parquet");
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("\"rows_quarantined\": 0"), "{out}");

    // 2.5 reports is not a count.
    let fractions: ArrayRef = Arc::new(
        Decimal128Array::from(
            (0..n)
                .map(|i| Some(if i == 7 { 25 } else { 20 }))
                .collect::<Vec<_>>(),
        )
        .with_precision_and_scale(10, 1)
        .unwrap(),
    );
    parquet_with(d, "fraction.parquet", "prior_reports", fractions);
    let (code, out, err) = validate_json(d, "fraction.parquet");
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("\"rows_quarantined\": 1"), "{out}");

    let huge: ArrayRef = Arc::new(UInt64Array::from(
        (0..n)
            .map(|i| if i == 3 { u64::MAX } else { 1 })
            .collect::<Vec<u64>>(),
    ));
    parquet_with(d, "huge.parquet", "prior_reports", huge);
    let (code, out, err) = validate_json(d, "huge.parquet");
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("\"rows_quarantined\": 1"), "{out}");
    assert!(out.contains("\"rule\": \"out_of_range\""), "{out}");

    // And they score: every row scored or quarantined.
    for (file, quarantined) in [
        ("decimal.parquet", 0),
        ("fraction.parquet", 1),
        ("huge.parquet", 1),
    ] {
        let run = format!("run-{file}");
        let out = score_with(d, Path::new(file), &["--out", &run, "--json"]);
        assert_eq!(out.status.code(), Some(0), "{file}: {}", stderr(&out));
        let m: safeflag_report::RunManifest = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(m.counts.rows_quarantined, quarantined, "{file}");
        assert_eq!(m.counts.rows_scored, 10_000 - quarantined, "{file}");
    }

    let binary: ArrayRef = Arc::new(BinaryArray::from_iter_values(
        (0..n).map(|_| b"\x00\x01".as_slice()),
    ));
    parquet_with(d, "binary.parquet", "caregiver_age", binary);
    let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<
        arrow_array::types::Int32Type,
        _,
        _,
    >((0..n).map(|_| Some(vec![Some(1), Some(2)]))));
    parquet_with(d, "list.parquet", "domestic_violence", list);
    for (file, column) in [
        ("binary.parquet", "caregiver_age"),
        ("list.parquet", "domestic_violence"),
    ] {
        let (code, _, err) = validate_json(d, file);
        assert_eq!(code, Some(1), "{file}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&format!("`{column}`")), "{err}");
    }
}
