//! The model for other engines, run in them on the shipped sample. As SQL:
//! SQLite (in process), DuckDB (its Python package) and PostgreSQL (a
//! server started for the test from the system's binaries), every row's
//! probability within 1e-9 of `safeflag score`'s, the same band, the same
//! top of the ranking. As ONNX: onnxruntime (its Python package), within
//! 1e-6. An engine that is not installed says so and is skipped, never
//! passed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;
use safeflag_sql::{Dialect, create_table};

use crate::*;

/// What the engines did, on stderr (shown with `--nocapture`): which ran,
/// which skipped, the largest difference seen.
macro_rules! say {
    ($($t:tt)*) => {{
        #[allow(clippy::print_stderr)]
        {
            eprintln!($($t)*);
        }
    }};
}

const TABLE: &str = "safeflag_cases";

/// `(child_id, snapshot_date) -> (probability, band)`.
type Scores = HashMap<(String, String), (f64, i64)>;

/// What `safeflag score` wrote for the sample with `model`.
fn reference(d: &Path, model: &str) -> Scores {
    let sample = sample("snapshot.csv");
    let out = safeflag(
        d,
        &[
            "score",
            sample.to_str().unwrap(),
            "--model",
            model,
            "--out",
            "run",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let file = std::fs::File::open(d.join("run/scores.parquet")).unwrap();
    let df = ParquetReader::new(file).finish().unwrap();
    scores(&df)
}

/// Scores from a frame with `child_id, snapshot_date, probability, band`.
fn scores(df: &DataFrame) -> Scores {
    let df = df
        .clone()
        .lazy()
        .select([
            col("child_id").cast(DataType::String),
            col("snapshot_date").cast(DataType::String),
            col("probability").cast(DataType::Float64),
            col("band").cast(DataType::Int64),
        ])
        .collect()
        .unwrap();
    let (c, s, p, b) = (
        df.column("child_id").unwrap().str().unwrap().clone(),
        df.column("snapshot_date").unwrap().str().unwrap().clone(),
        df.column("probability").unwrap().f64().unwrap().clone(),
        df.column("band").unwrap().i64().unwrap().clone(),
    );
    (0..df.height())
        .map(|i| {
            let date = s.get(i).unwrap();
            // SQLite returns the date as written; others may add a time.
            (
                (c.get(i).unwrap().to_string(), date[..10].to_string()),
                (p.get(i).unwrap(), b.get(i).unwrap()),
            )
        })
        .collect()
}

/// Every row agrees: probability within 1e-9, the same band, and the top 100
/// in the same order.
fn assert_agree(engine: &str, ours: &Scores, theirs: &Scores) {
    assert_eq!(ours.len(), theirs.len(), "{engine}: rows");
    let mut worst: f64 = 0.0;
    for (k, (p, band)) in ours {
        let (q, qb) = theirs
            .get(k)
            .unwrap_or_else(|| panic!("{engine}: no row {k:?}"));
        worst = worst.max((p - q).abs());
        assert_eq!(band, qb, "{engine}: band of {k:?}");
    }
    assert!(worst <= 1e-9, "{engine}: a probability differs by {worst}");
    say!(
        "{engine}: {} rows, largest probability difference {worst:e}",
        ours.len()
    );
    let top = |s: &Scores| {
        let mut v: Vec<(&(String, String), f64)> = s.iter().map(|(k, v)| (k, v.0)).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        v.into_iter()
            .take(100)
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(top(ours), top(theirs), "{engine}: the top 100 differ");
}

/// The sample's valid rows, clean: the table the query reads.
fn clean_cases() -> DataFrame {
    let v = safeflag_pipeline::ingest_mapped(&sample("snapshot.csv"), None, false).unwrap();
    let columns: Vec<&str> = safeflag_core::contract::COLUMNS
        .iter()
        .filter(|c| c.presence != safeflag_core::contract::Presence::Outcome)
        .map(|c| c.name)
        .collect();
    v.cases.select(columns).unwrap()
}

fn sql(d: &Path, model: &str, dialect: &str) -> String {
    let out = safeflag(d, &["model", "sql", model, "--dialect", dialect]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

fn run_sqlite(d: &Path, model: &str, cases: &DataFrame) -> Scores {
    let con = rusqlite::Connection::open_in_memory().unwrap();
    con.execute_batch(&create_table(Dialect::Sqlite, TABLE).unwrap())
        .unwrap();
    let names = cases.get_column_names();
    let insert = format!(
        "INSERT INTO {TABLE} ({}) VALUES ({})",
        column_list(cases),
        vec!["?"; names.len()].join(", ")
    );
    {
        let mut stmt = con.prepare(&insert).unwrap();
        let columns = cases.columns();
        for r in 0..cases.height() {
            let row: Vec<rusqlite::types::Value> = columns
                .iter()
                .map(|c| match c.get(r).unwrap() {
                    AnyValue::Null => rusqlite::types::Value::Null,
                    AnyValue::Boolean(b) => rusqlite::types::Value::Integer(i64::from(b)),
                    AnyValue::Date(_) => rusqlite::types::Value::Text(
                        c.get(r).unwrap().to_string().trim_matches('"').to_string(),
                    ),
                    v if v.is_integer() => rusqlite::types::Value::Integer(v.extract().unwrap()),
                    v => rusqlite::types::Value::Text(v.get_str().unwrap().to_string()),
                })
                .collect();
            stmt.execute(rusqlite::params_from_iter(row)).unwrap();
        }
    }
    sqlite_scores(&con, &sql(d, model, "sqlite"))
}

/// The scores `query` gives in an open SQLite database.
fn sqlite_scores(con: &rusqlite::Connection, query: &str) -> Scores {
    let mut stmt = con.prepare(query).unwrap_or_else(|e| panic!("sqlite: {e}"));
    let rows = stmt
        .query_map([], |r| {
            Ok((
                (
                    r.get::<_, String>("child_id")?,
                    r.get::<_, String>("snapshot_date")?,
                ),
                (r.get::<_, f64>("probability")?, r.get::<_, i64>("band")?),
            ))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// A frame's column names, comma-separated.
fn column_list(df: &DataFrame) -> String {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    names.join(", ")
}

fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run_duckdb(d: &Path, model: &str, cases: &DataFrame) -> Option<Scores> {
    if !python_has("duckdb") {
        say!("SKIPPED DuckDB: the duckdb Python package is not installed");
        return None;
    }
    let input = d.join("cases.parquet");
    safeflag_ingest::write_frame(&mut cases.clone(), &input).unwrap();
    let setup = [
        create_table(Dialect::Duckdb, TABLE).unwrap(),
        format!("INSERT INTO {TABLE} BY NAME SELECT * FROM read_parquet('cases.parquet')"),
    ];
    Some(duckdb_scores(d, &setup, &sql(d, model, "duckdb")))
}

/// Runs each `setup` statement in DuckDB (its Python package), then the
/// query, and reads its scores.
fn duckdb_scores(d: &Path, setup: &[String], query: &str) -> Scores {
    for (i, statement) in setup.iter().enumerate() {
        std::fs::write(d.join(format!("setup{i}.sql")), statement).unwrap();
    }
    std::fs::write(d.join("query.sql"), query).unwrap();
    let script = format!(
        "import duckdb\n\
         con = duckdb.connect()\n\
         for i in range({}):\n    con.execute(open(f'setup{{i}}.sql').read())\n\
         con.execute('COPY (' + open('query.sql').read() + \") TO 'duckdb.parquet' (FORMAT parquet)\")\n",
        setup.len()
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(out.status.success(), "duckdb: {}", stderr(&out));
    let file = std::fs::File::open(d.join("duckdb.parquet")).unwrap();
    scores(&ParquetReader::new(file).finish().unwrap())
}

/// A PostgreSQL server of the system's, started for one test in its own
/// folder on a local socket (as the `postgres` user when the test runs as
/// root, which PostgreSQL refuses), stopped when dropped.
struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    root: PathBuf,
    as_postgres: bool,
}

impl Postgres {
    fn start() -> Option<Postgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|b| b.join("initdb").is_file())?;
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let root = std::env::temp_dir().join(format!(
            "safeflag-pg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&root).unwrap();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["postgres", root.to_str().unwrap()])
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                say!("SKIPPED PostgreSQL: running as root and there is no postgres user");
                return None;
            }
        }
        let pg = Postgres {
            bin,
            data: root.join("data"),
            root,
            as_postgres,
        };
        let data = pg.data.to_str().unwrap().to_string();
        let sock = pg.root.to_str().unwrap().to_string();
        pg.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        let opts = format!("-k {sock} -p 54329 -c listen_addresses= -c fsync=off");
        pg.run(
            "pg_ctl",
            &[
                "-D",
                &data,
                "-o",
                &opts,
                "-w",
                "-l",
                &format!("{sock}/log"),
                "start",
            ],
        );
        Some(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let out = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--", exe.to_str().unwrap()])
                .args(args)
                .output()
        } else {
            Command::new(&exe).args(args).output()
        }
        .unwrap();
        assert!(out.status.success(), "{tool}: {}", stderr(&out));
    }

    /// Runs `setup`, then `query` as the view `scored`, and reads its scores.
    fn scores(&self, dir: &Path, setup: &str, query: &str) -> Scores {
        let script = format!(
            "{setup}\nCREATE VIEW scored AS\n{query};\n\\copy (SELECT child_id, snapshot_date, probability, band FROM scored) TO 'postgres.csv' CSV HEADER\n"
        );
        self.psql(dir, &script);
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .try_into_reader_with_file_path(Some(dir.join("postgres.csv")))
            .unwrap()
            .finish()
            .unwrap();
        scores(&df)
    }

    fn psql(&self, dir: &Path, script: &str) {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                self.root.to_str().unwrap(),
                "-p",
                "54329",
                "-U",
                "postgres",
            ])
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-f", "-"])
            .current_dir(dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write as _;
                c.stdin.take().unwrap().write_all(script.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success(), "psql: {}", stderr(&out));
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data.to_str().unwrap().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn run_postgres(d: &Path, model: &str, cases: &DataFrame) -> Option<Scores> {
    let Some(pg) = Postgres::start() else {
        say!("SKIPPED PostgreSQL: no server binaries under /usr/lib/postgresql");
        return None;
    };
    let mut csv = std::fs::File::create(d.join("cases.csv")).unwrap();
    CsvWriter::new(&mut csv)
        .include_header(true)
        .finish(&mut cases.clone())
        .unwrap();
    let names = column_list(cases);
    let setup = format!(
        "{}\n\\copy {TABLE} ({names}) FROM 'cases.csv' CSV HEADER",
        create_table(Dialect::Postgres, TABLE).unwrap()
    );
    Some(pg.scores(d, &setup, &sql(d, model, "postgres")))
}

/// The ONNX graph run by onnxruntime on the sample's feature matrix.
fn run_onnx(d: &Path, model: &str) -> Option<Scores> {
    if !python_has("onnxruntime") {
        say!("SKIPPED onnxruntime: the onnxruntime Python package is not installed");
        return None;
    }
    let out = safeflag(d, &["model", "onnx", model, "--out", "model.onnx"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&d.join("model.onnx")), 0o600);
    assert!(d.join("model.onnx.features.json").is_file());
    let artifact = safeflag_model::ModelArtifact::load(Path::new(model)).unwrap();
    let v = safeflag_pipeline::ingest_mapped(&sample("snapshot.csv"), None, false).unwrap();
    let x = safeflag_features::build_matrix(&v.cases, &artifact.content.feature_spec).unwrap();
    let (rows, cols) = (x.rows(), x.cols());
    let cm = x.column_major();
    let bytes: Vec<u8> = (0..rows)
        .flat_map(|r| (0..cols).map(move |j| cm[j * rows + r]))
        .flat_map(f64::to_le_bytes)
        .collect();
    std::fs::write(d.join("features.bin"), bytes).unwrap();
    let script = format!(
        "import numpy as np, onnxruntime as ort\n\
         x = np.fromfile('features.bin', dtype='<f8').reshape(-1, {cols})\n\
         s = ort.InferenceSession('model.onnx', providers=['CPUExecutionProvider'])\n\
         s.run(['probability'], {{'features': x}})[0].astype('<f8').tofile('p.bin')\n"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(out.status.success(), "onnxruntime: {}", stderr(&out));
    let p: Vec<f64> = std::fs::read(d.join("p.bin"))
        .unwrap()
        .chunks(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(p.len(), rows);
    let ids = v.cases.column("child_id").unwrap().str().unwrap().clone();
    let dates = v
        .cases
        .column("snapshot_date")
        .unwrap()
        .cast(&DataType::String)
        .unwrap();
    let dates = dates.str().unwrap();
    let bands = &artifact.content.bands;
    Some(
        (0..rows)
            .map(|r| {
                let key = (
                    ids.get(r).unwrap().to_string(),
                    dates.get(r).unwrap().to_string(),
                );
                (key, (p[r], i64::from(bands.band(p[r]))))
            })
            .collect(),
    )
}

/// Every row within `tolerance` of safeflag's probability.
fn assert_close(engine: &str, ours: &Scores, theirs: &Scores, tolerance: f64) {
    assert_eq!(ours.len(), theirs.len(), "{engine}: rows");
    let worst = ours
        .iter()
        .map(|(k, (p, _))| (p - theirs[k].0).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= tolerance,
        "{engine}: a probability differs by {worst}"
    );
    say!(
        "{engine}: {} rows, largest probability difference {worst:e}",
        ours.len()
    );
}

/// Runs the model's SQL in every engine there is and checks each against
/// `safeflag score`; returns the engines run.
fn check_engines(d: &Path, model: &str) -> Vec<&'static str> {
    let ours = reference(d, model);
    let cases = clean_cases();
    assert_eq!(cases.height(), ours.len());
    let mut ran = vec!["sqlite"];
    assert_agree("sqlite", &ours, &run_sqlite(d, model, &cases));
    if let Some(theirs) = run_duckdb(d, model, &cases) {
        assert_agree("duckdb", &ours, &theirs);
        ran.push("duckdb");
    }
    if let Some(theirs) = run_postgres(d, model, &cases) {
        assert_agree("postgres", &ours, &theirs);
        ran.push("postgres");
    }
    if let Some(theirs) = run_onnx(d, model) {
        assert_close("onnxruntime", &ours, &theirs, 1e-6);
        ran.push("onnxruntime");
    }
    ran
}

#[test]
fn the_logistic_model_as_sql_gives_safeflags_scores_in_real_engines() {
    let dir = tempfile::tempdir().unwrap();
    let model = repo().join("models/default");
    let ran = check_engines(dir.path(), model.to_str().unwrap());
    say!("engines run: {}", ran.join(", "));
}

#[test]
fn the_shaped_logistic_model_as_sql_gives_safeflags_scores_in_real_engines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = train_shaped(d);
    let sql = sql(d, model.to_str().unwrap(), "duckdb");
    assert!(sql.contains("f_age_from_"), "the hinges are in the query");
    let ran = check_engines(d, model.to_str().unwrap());
    say!("engines run: {}", ran.join(", "));
}

#[test]
fn the_boosted_trees_as_sql_give_safeflags_scores_in_real_engines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = train_gbm(d);
    let ran = check_engines(d, model.to_str().unwrap());
    say!("engines run: {}", ran.join(", "));
}

#[test]
fn the_sql_goes_to_a_file_owner_only_and_a_bad_table_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = repo().join("models/default");
    let m = model.to_str().unwrap();
    let out = safeflag(
        dir.path(),
        &[
            "model",
            "sql",
            m,
            "--dialect",
            "snowflake",
            "--out",
            "q.sql",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&dir.path().join("q.sql")), 0o600);
    let out = safeflag(
        dir.path(),
        &[
            "model",
            "sql",
            m,
            "--dialect",
            "postgres",
            "--table",
            "x; DROP TABLE y",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a plain identifier"),
        "{}",
        stderr(&out)
    );
}

/// The warehouse's scores taken back: the SQL's probabilities from SQLite
/// give the same queue as safeflag's own; a score off by more than 1e-6, a
/// missing row and a second score for a row are each refused whole, naming
/// the file and the row.
#[test]
fn scores_from_the_warehouse_give_the_same_queue_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = repo().join("models/default");
    let m = model.to_str().unwrap();
    let ours = reference(d, m);
    let theirs = run_sqlite(d, m, &clean_cases());
    let write = |name: &str, rows: &[(&(String, String), f64)]| {
        let mut s = String::from("child_id,snapshot_date,probability\n");
        for ((c, date), p) in rows {
            s.push_str(&format!("{c},{date},{p:?}\n"));
        }
        std::fs::write(d.join(name), s).unwrap();
    };
    let mut rows: Vec<(&(String, String), f64)> = theirs.iter().map(|(k, v)| (k, v.0)).collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    write("warehouse.csv", &rows);
    let sample = sample("snapshot.csv");
    let s = sample.to_str().unwrap();
    let score = |scores: &str, out: &str| {
        safeflag(
            d,
            &[
                "score", s, "--model", m, "--scores", scores, "--out", out, "--json",
            ],
        )
    };
    let out = score("warehouse.csv", "wh");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest: safeflag_report::RunManifest = serde_json::from_slice(&out.stdout).unwrap();
    let from = manifest.scores_from.unwrap();
    assert!(
        from.largest_difference <= 1e-9,
        "{}",
        from.largest_difference
    );
    // The same cases in the same order; the probabilities shown are the
    // warehouse's (they may differ from safeflag's in the last digits).
    let (q0, q1) = (
        read_csv(&d.join("run/queue.csv")),
        read_csv(&d.join("wh/queue.csv")),
    );
    let ids = |q: &DataFrame| -> Vec<String> {
        let c = q
            .column("case_id")
            .unwrap()
            .cast(&DataType::String)
            .unwrap();
        c.str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(ids(&q0), ids(&q1));
    assert_eq!(q0.column("reasons").unwrap(), q1.column("reasons").unwrap());
    assert_eq!(ours.len(), rows.len());

    // One score moved by 0.01, a row left out, a row given twice.
    let mut moved = rows.clone();
    moved[7].1 += 0.01;
    write("moved.csv", &moved);
    write("short.csv", &rows[1..]);
    let mut twice = rows.clone();
    twice.insert(3, rows[2]);
    write("twice.csv", &twice);
    for (file, says) in [
        ("moved.csv", "moved.csv` row 8: the probability differs"),
        ("short.csv", "has no score for 1 of the night's"),
        ("twice.csv", "twice.csv` row 4: a second score"),
    ] {
        let out = score(file, &format!("bad-{file}"));
        assert_eq!(out.status.code(), Some(1), "{file}");
        assert!(stderr(&out).contains(says), "{file}: {}", stderr(&out));
        assert!(!d.join(format!("bad-{file}/queue.csv")).exists());
    }

    // The nightly job takes them from its config; a refused file publishes nothing.
    for (name, scores, code) in [("good", "warehouse.csv", 0), ("moved", "moved.csv", 1)] {
        let night = d.join(name);
        std::fs::create_dir_all(&night).unwrap();
        let config = format!(
            "[input]\nsnapshot = \"{s}\"\nscores = \"{}\"\n[model]\ndir = \"{m}\"\n",
            d.join(scores).display()
        );
        std::fs::write(night.join("safeflag.toml"), config).unwrap();
        let out = safeflag(&night, &["nightly"]);
        assert_eq!(out.status.code(), Some(code), "{name}: {}", stderr(&out));
        let run = night.join("out/runs/2025-11-21");
        if code == 0 {
            let m: safeflag_report::RunManifest =
                serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
            assert!(m.scores_from.is_some());
        } else {
            assert!(!run.join("queue.csv").exists());
        }
    }
}

/// The sample spelled the ways an extract spells it: codes in capitals and
/// padded, booleans as `Yes` / `n`, missing values as `NA` and `null`.
fn respelled(d: &Path) -> PathBuf {
    let text = std::fs::read_to_string(sample("snapshot.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut out = header.join(",") + "\n";
    for (i, line) in lines.enumerate() {
        let fields: Vec<String> = line
            .split(',')
            .zip(&header)
            .map(|(v, h)| match (*h, v) {
                ("case_type" | "sleep_environment" | "parental_substance_use", v)
                    if !v.is_empty() =>
                {
                    format!(" {} ", v.to_uppercase())
                }
                ("child_sex", v) => v.to_lowercase(),
                ("child_disability" | "domestic_violence" | "unrelated_adult_in_home", "true") => {
                    "Yes".into()
                }
                ("child_disability" | "domestic_violence" | "unrelated_adult_in_home", "false") => {
                    if i % 2 == 0 {
                        "n".into()
                    } else {
                        " FALSE".into()
                    }
                }
                ("sleep_environment", "") => "NA".into(),
                ("caregiver_age" | "days_since_last_visit", "") => "null".into(),
                ("prior_reports", v) => format!(" {v} "),
                (_, v) => v.to_string(),
            })
            .collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    let path = d.join("respelled.csv");
    std::fs::write(&path, out).unwrap();
    path
}

/// The cleaning view over raw text columns, then the query over the view,
/// in SQLite, DuckDB and PostgreSQL: the same probabilities as `safeflag
/// score` on the same file, which safeflag cleans the same way.
#[test]
fn the_cleaning_view_reads_an_extracts_spellings_as_safeflag_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = respelled(d);
    let model = repo().join("models/default");
    let m = model.to_str().unwrap();
    let out = safeflag(
        d,
        &[
            "score",
            file.to_str().unwrap(),
            "--model",
            m,
            "--out",
            "run",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest: safeflag_report::RunManifest = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest.counts.rows_quarantined, 0);
    let rf = std::fs::File::open(d.join("run/scores.parquet")).unwrap();
    let ours = scores(&ParquetReader::new(rf).finish().unwrap());
    let text = std::fs::read_to_string(&file).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let raw_ddl = format!(
        "CREATE TABLE raw_cases ({});",
        header
            .iter()
            .map(|h| format!("{h} TEXT"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let view = |dialect: &str| {
        let out = safeflag(
            d,
            &[
                "model",
                "sql",
                m,
                "--dialect",
                dialect,
                "--clean-view",
                "raw_cases",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };

    // SQLite, in process.
    let con = rusqlite::Connection::open_in_memory().unwrap();
    con.execute_batch(&raw_ddl).unwrap();
    {
        let insert = format!(
            "INSERT INTO raw_cases VALUES ({})",
            vec!["?"; header.len()].join(", ")
        );
        let mut stmt = con.prepare(&insert).unwrap();
        for line in text.lines().skip(1) {
            stmt.execute(rusqlite::params_from_iter(line.split(',')))
                .unwrap();
        }
    }
    con.execute_batch(&view("sqlite")).unwrap();
    let theirs = sqlite_scores(&con, &sql(d, m, "sqlite"));
    assert_agree("sqlite view", &ours, &theirs);

    // DuckDB, reading every column as text.
    if python_has("duckdb") {
        let setup = [
            "CREATE TABLE raw_cases AS SELECT * FROM read_csv('respelled.csv', header = true, all_varchar = true)".to_string(),
            view("duckdb"),
        ];
        let theirs = duckdb_scores(d, &setup, &sql(d, m, "duckdb"));
        assert_agree("duckdb view", &ours, &theirs);
    } else {
        say!("SKIPPED DuckDB: the duckdb Python package is not installed");
    }

    // PostgreSQL.
    if let Some(pg) = Postgres::start() {
        let setup = format!(
            "{raw_ddl}\n\\copy raw_cases FROM 'respelled.csv' CSV HEADER\n{}",
            view("postgres")
        );
        let theirs = pg.scores(d, &setup, &sql(d, m, "postgres"));
        assert_agree("postgres view", &ours, &theirs);
    } else {
        say!("SKIPPED PostgreSQL: no server binaries under /usr/lib/postgresql");
    }
}
