//! Hostile input end to end: a record the CSV reader could merge, formula
//! payloads in every text a supervisor opens, recipient names that collide
//! or cannot be file names, and a hostile umask.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
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
    // Blank trailing lines are not records.
    let text = std::fs::read_to_string(sample("snapshot.csv")).unwrap();
    std::fs::write(dir.path().join("b.csv"), text + "\n\n\n").unwrap();
    let out = safeflag(dir.path(), &["validate", "b.csv", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("\"rows_read\": 10000"));
}

fn read_strings(path: &Path) -> DataFrame {
    CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .unwrap()
        .finish()
        .unwrap()
}

/// Every cell of every CSV under `dir` that a person opens.
fn csv_cells(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            csv_cells(&path, out);
        } else if path.extension().is_some_and(|e| e == "csv") {
            let df = read_strings(&path);
            for c in df.columns() {
                for v in c.str().unwrap().iter().flatten() {
                    out.push((path.display().to_string(), v.to_string()));
                }
            }
        }
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
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
    let mut df = read_strings(&sample("snapshot.csv"));
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
    let queue = read_strings(&run.join("queue.csv"));
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
