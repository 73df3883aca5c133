//! Snapshot tests (insta) of what people and scripts read: every
//! subcommand's `--help`, a table and a JSON output of each reporting
//! command, and the one-line errors. Paths, run ids, pids and timings are
//! filtered; JSON is parsed into its typed document (which refuses unknown
//! fields) before it is snapshotted, so a changed shape fails twice.
//!
//! After an intended change: `INSTA_UPDATE=always cargo test -p safeflag-cli`,
//! then read the diff of `tests/it/snapshots/` before committing it.

use std::path::Path;
use std::process::Output;

use safeflag_pipeline::reports::{CaseHistoryJson, EvaluationJson, RunsJson, ValidationJson};
use safeflag_report::{ExportManifest, RunManifest, Summary};
use serde::de::DeserializeOwned;

use crate::*;

/// Escapes a literal for a regex.
fn escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if "\\.+*?()|[]{}^$#&-~".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// insta settings that hide what differs between machines and runs.
fn settings(tmp: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s.add_filter(&escape(&tmp.display().to_string()), "[TMP]");
    if let Ok(real) = tmp.canonicalize() {
        s.add_filter(&escape(&real.display().to_string()), "[TMP]");
    }
    s.add_filter(&escape(&repo().display().to_string()), "[REPO]");
    // A run id's length depends on the pid: in a table, take its padding too.
    s.add_filter(r"\d{8}T\d{6}Z-\d+(-\d+)? +(ok|gate_failed)", "[RUN_ID]  $2");
    s.add_filter(r"\d{8}T\d{6}Z-\d+(-\d+)?", "[RUN_ID]");
    s.add_filter(
        r"pid \d+ on \S+ since unix time \d+",
        "pid [PID] on [HOST] since unix time [TIME]",
    );
    s.add_filter(r#""started_unix": \d+"#, r#""started_unix": [TIME]"#);
    s
}

/// Runs `safeflag` with a fixed terminal width, so help wraps the same everywhere.
fn run(dir: &Path, args: &[&str]) -> Output {
    safeflag_env(dir, args, &[("COLUMNS", "100")])
}

/// Parses a JSON document into its type (refusing unknown fields) and
/// pretty-prints it again.
fn typed<T: DeserializeOwned + serde::Serialize>(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    let doc: T = serde_json::from_str(&stdout(out)).unwrap_or_else(|e| {
        panic!(
            "{} is not a {}: {e}",
            stdout(out),
            std::any::type_name::<T>()
        )
    });
    serde_json::to_string_pretty(&doc).unwrap()
}

/// Snapshots the table `args` print as `NAME_table`, and their `--json`
/// document, parsed as `T`, as `NAME_json`.
fn table_and_json<T: DeserializeOwned + serde::Serialize>(d: &Path, args: &[&str], name: &str) {
    let out = run(d, args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    insta::assert_snapshot!(format!("{name}_table"), stdout(&out));
    let out = run(d, &[args, &["--json"]].concat());
    insta::assert_snapshot!(format!("{name}_json"), typed::<T>(&out));
}

/// A manifest with its timings cleared.
fn manifest_json(out: &Output) -> String {
    let mut m: RunManifest = serde_json::from_str(&stdout(out)).unwrap();
    m.seconds.clear();
    serde_json::to_string_pretty(&m).unwrap()
}

#[test]
fn help_of_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let commands: [&[&str]; 26] = [
        &[],
        &["validate"],
        &["generate"],
        &["snapshot"],
        &["train"],
        &["evaluate"],
        &["backtest"],
        &["compare"],
        &["score"],
        &["export"],
        &["report"],
        &["explain"],
        &["nightly"],
        &["reviews"],
        &["reviews", "import"],
        &["reviews", "report"],
        &["model"],
        &["model", "sql"],
        &["model", "onnx"],
        &["outcomes"],
        &["outcomes", "import"],
        &["outcomes", "report"],
        &["runs"],
        &["history"],
        &["completions"],
        &["man"],
    ];
    settings(dir.path()).bind(|| {
        for command in commands {
            let mut args = command.to_vec();
            args.push("--help");
            let out = run(dir.path(), &args);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            let name = if command.is_empty() {
                "help".to_string()
            } else {
                format!("help_{}", command.join("_"))
            };
            insta::assert_snapshot!(name, stdout(&out));
        }
    });
}

/// Completions for bash, zsh and fish, the man page and `--version` with
/// the commit, all from the clap definitions.
#[test]
fn completions_man_page_and_version() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = run(dir.path(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        for word in ["safeflag", "nightly", "config", "max-quarantine"] {
            assert!(text.contains(word), "{shell} completions lack {word}");
        }
    }
    let out = run(dir.path(), &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(dir.path(), &["man"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let man = stdout(&out);
    assert!(
        man.starts_with(".ie") || man.contains(".TH safeflag"),
        "{man}"
    );
    assert!(man.contains("nightly"));
    let out = run(dir.path(), &["--version"]);
    let v = stdout(&out);
    let commit = v
        .trim()
        .strip_prefix(concat!("safeflag ", env!("CARGO_PKG_VERSION"), " (commit "))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{v}"));
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{v}"
    );
}

#[test]
fn validate_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let messy = sample("messy.csv");
    let messy = messy.to_str().unwrap();
    settings(dir.path()).bind(|| {
        let out = run(dir.path(), &["validate", messy]);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        insta::assert_snapshot!("validate_table", stdout(&out));
        let out = run(
            dir.path(),
            &["validate", messy, "--max-quarantine", "1", "--json"],
        );
        insta::assert_snapshot!("validate_json", typed::<ValidationJson>(&out));
    });
}

#[test]
fn extract_snapshot_and_stack_tables_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let x = sample("extract");
    let x = x.to_str().unwrap();
    settings(dir.path()).bind(|| {
        let out = run(
            dir.path(),
            &["snapshot", x, "--as-of", "2025-06-30", "--out", "s.csv"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        insta::assert_snapshot!("extract_snapshot_table", stdout(&out));
        let stack = [
            "snapshot",
            x,
            "--from",
            "2024-01-01",
            "--to",
            "2025-01-01",
            "--every",
            "122",
            "--out",
            "k.parquet",
        ];
        let out = run(dir.path(), &stack);
        insta::assert_snapshot!("extract_stack_table", stdout(&out));
        let mut json = stack.to_vec();
        json.push("--json");
        let out = run(dir.path(), &json);
        insta::assert_snapshot!(
            "extract_stack_json",
            typed::<safeflag_pipeline::extract::ExtractSnapshotJson>(&out)
        );
    });
}

/// `score --top 20` of the sample snapshot into `dir/run`.
fn score_sample(dir: &Path, json: bool) -> Output {
    let mut args = vec!["--top", "20", "--out", "run"];
    if json {
        args.push("--json");
    }
    score_with(dir, &sample("snapshot.csv"), &args)
}

#[test]
fn score_report_and_export_tables_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    settings(d).bind(|| {
        let out = score_sample(d, false);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        insta::assert_snapshot!("score_table", stdout(&out));
        let out = score_sample(d, true);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        insta::assert_snapshot!("score_json", manifest_json(&out));

        table_and_json::<Summary>(d, &["report", "run"], "report");
        let export = ["export", "run", "--format", "csv", "--out", "ex"];
        table_and_json::<ExportManifest>(d, &export, "export");

        // A queued child as a table; a case that was not queued as JSON.
        let out = run(d, &["explain", "K00009880", "--run", "run"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        insta::assert_snapshot!("explain_table", stdout(&out));
        let out = run(d, &["explain", "C0000001", "--run", "run", "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        insta::assert_snapshot!("explain_json", stdout(&out));
    });
}

#[test]
fn runs_and_history_tables_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = repo().join("models/default");
    std::fs::write(
        d.join("safeflag.toml"),
        format!(
            "[input]\nsnapshot = \"snapshot.csv\"\n[model]\ndir = \"{}\"\n[queue]\ntop = 10\n\
             [export]\nby = [\"office\"]\nformats = [\"csv\"]\n",
            model.display()
        ),
    )
    .unwrap();
    std::fs::copy(sample("snapshot.csv"), d.join("snapshot.csv")).unwrap();
    let night = run(d, &["nightly", "--date", "2025-11-21"]);
    assert_eq!(night.status.code(), Some(0), "{}", stderr(&night));
    let queue = std::fs::read_to_string(d.join("out/runs/2025-11-21/queue.csv")).unwrap();
    let top = queue.lines().nth(1).unwrap().split(',').nth(1).unwrap();
    std::fs::write(
        d.join("reviews.csv"),
        format!(
            "case_id,review_date,reviewer,outcome,override_reason\n{top},2025-11-21,R1,override,known family\n"
        ),
    )
    .unwrap();
    let import = run(d, &["reviews", "import", "reviews.csv"]);
    assert_eq!(import.status.code(), Some(0), "{}", stderr(&import));
    settings(d).bind(|| {
        insta::assert_snapshot!("nightly_table", stdout(&night));
        insta::assert_snapshot!("reviews_import_table", stdout(&import));
        table_and_json::<RunsJson>(d, &["runs"], "runs");
        table_and_json::<CaseHistoryJson>(d, &["history", top], "history");
    });
}

#[test]
fn evaluate_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run(
        d,
        &[
            "generate",
            "--rows",
            "3000",
            "--snapshots",
            "2",
            "--seed",
            "5",
            "--out",
            "labelled.csv",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let model = repo().join("models/default");
    let args = [
        "evaluate",
        "labelled.csv",
        "--model",
        model.to_str().unwrap(),
        "--k",
        "30",
    ];
    settings(d).bind(|| table_and_json::<EvaluationJson>(d, &args, "evaluate"));
}

#[test]
fn compare_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = repo().join("models/default");
    let model = model.to_str().unwrap();
    let snapshot = sample("snapshot.csv");
    let args = [
        "compare",
        model,
        model,
        snapshot.to_str().unwrap(),
        "--top",
        "10",
    ];
    settings(d)
        .bind(|| table_and_json::<safeflag_pipeline::compare::Comparison>(d, &args, "compare"));
}

/// Each error is one line on stderr, naming the file (and the row and
/// column where there is one), with its exit code.
#[test]
fn one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = repo().join("models/default");
    let model = model.to_str().unwrap();
    let snapshot = sample("snapshot.csv");
    let snapshot = snapshot.to_str().unwrap();
    let config = "[input]\nsnapshot = \"s.csv\"\n[model]\n";
    let files: [(&str, String); 7] = [
        ("empty.csv", String::new()),
        ("data.txt", "x".into()),
        (
            "no-office.csv",
            "case_id,child_id,snapshot_date\nC1,K1,2025-11-21\n".into(),
        ),
        (
            "bad.toml",
            format!("{config}dir = \"m\"\n[queue]\noffice-capacty = 3\n"),
        ),
        (
            "zero.toml",
            format!("{config}dir = \"m\"\n[queue]\ntop = 0\n"),
        ),
        (
            "bad-reviews.csv",
            "case_id,review_date,reviewer,outcome,override_reason\nC1,2025-13-01,R1,coached,\n"
                .into(),
        ),
        ("ok.toml", format!("{config}dir = \"{model}\"\n")),
    ];
    for (name, text) in &files {
        std::fs::write(d.join(name), text).unwrap();
    }
    let messy = sample("messy.csv");
    let cases: Vec<Vec<&str>> = vec![
        vec!["validate", "missing.csv"],
        vec!["validate", "empty.csv"],
        vec!["validate", "data.txt"],
        vec!["validate", "no-office.csv"],
        vec!["validate", snapshot, "--mapping", "nope.toml"],
        vec!["validate", messy.to_str().unwrap()],
        vec!["validate", snapshot, "--max-quarantine", "2"],
        vec!["train", snapshot, "--out", "m", "--model", "forest"],
        vec!["score", snapshot, "--model", "nowhere", "--out", "x"],
        vec![
            "score",
            snapshot,
            "--model",
            model,
            "--out",
            "x",
            "--office-capacity",
            "0",
        ],
        vec![
            "score",
            snapshot,
            "--model",
            model,
            "--out",
            "x",
            "--psi-warning=-1",
        ],
        vec!["report", "nowhere"],
        vec!["nightly", "--config", "missing.toml"],
        vec!["nightly", "--config", "bad.toml"],
        vec!["nightly", "--config", "zero.toml"],
        vec![
            "reviews",
            "import",
            "bad-reviews.csv",
            "--config",
            "ok.toml",
        ],
    ];
    let mut text = String::new();
    for args in cases {
        let out = run(d, &args);
        let err = stderr(&out);
        // Usage errors are clap's (the error, the usage line, a hint), and a
        // refused reviews file lists one line per problem; every other
        // error is one line.
        let usage = err.contains("try '--help'");
        let listed = args[0] == "reviews";
        if !usage && !listed {
            assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        }
        text.push_str(&format!(
            "$ safeflag {}\nexit {}: {}\n",
            args.join(" "),
            out.status.code().unwrap_or(-1),
            err.trim_end()
        ));
    }
    settings(d).bind(|| insta::assert_snapshot!("errors", text));
}
