//! One test per exit code (0 success, 1 input, 2 internal, 3 gate, 4 lock),
//! and the defects found when the order of a run moved into the library,
//! each with a test that failed on the code before the fix.

use std::path::Path;

use crate::*;

fn score_into(dir: &Path, out: &str, env: &[(&str, &str)]) -> std::process::Output {
    score_with_env(
        dir,
        &sample("snapshot.csv"),
        &["--top", "20", "--out", out],
        env,
    )
}

#[test]
fn exit_0_when_the_run_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let out = score_into(dir.path(), "run", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.path().join("run/queue.csv").exists());
}

#[test]
fn exit_1_for_the_users_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let out = safeflag(
        dir.path(),
        &["score", "nope.csv", "--model", "m", "--out", "x"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
}

/// A broken invariant, forced through a fault point (debug builds), exits 2
/// and says it is internal. It also leaves nothing of the run behind: the
/// queue used to be written before the counts were reconciled, so a failed
/// check left tonight's queue beside an earlier run's manifest.
#[test]
fn exit_2_for_an_internal_failure_and_nothing_of_it_is_left() {
    if !cfg!(debug_assertions) {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: fault points exist in debug builds only");
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = score_into(dir.path(), "run", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = score_into(dir.path(), "run", &[("SAFEFLAG_FAULT", "miscount")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("internal error: counts do not reconcile"),
        "{err}"
    );
    for name in [
        "queue.csv",
        "queue.parquet",
        "scores.parquet",
        "scores.arrow",
        "manifest.json",
    ] {
        assert!(
            !dir.path().join("run").join(name).exists(),
            "{name} left behind after a failed reconciliation"
        );
    }
}

#[test]
fn exit_3_when_the_gate_trips() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = sample("messy.csv");
    let model = repo().join("models/default");
    let out = safeflag(
        dir.path(),
        &[
            "score",
            snapshot.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--out",
            "run",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("data-quality gate"));
    assert!(!dir.path().join("run/queue.csv").exists());
}

/// A nightly config in `dir` over `snapshot.csv` there.
fn night_setup(dir: &Path, snapshot: &str) {
    let model = repo().join("models/default");
    std::fs::write(
        dir.join("safeflag.toml"),
        format!(
            "[input]\nsnapshot = \"snapshot.csv\"\n[model]\ndir = \"{}\"\n[export]\nby = [\"office\"]\nformats = [\"csv\"]\n",
            model.display()
        ),
    )
    .unwrap();
    std::fs::copy(sample(snapshot), dir.join("snapshot.csv")).unwrap();
}

#[test]
fn exit_4_while_another_run_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    night_setup(dir.path(), "snapshot.csv");
    std::fs::create_dir_all(dir.path().join("state")).unwrap();
    let held =
        safeflag_history::RunLock::acquire(&dir.path().join("state/history.sqlite.lock")).unwrap();
    let out = safeflag(dir.path(), &["nightly"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    drop(held);
}

/// A night whose gate trips without `--date` is recorded under the
/// snapshot's date; it used to be recorded as `unknown`, which sorted above
/// every real date in `runs`.
#[test]
fn a_gate_failed_night_without_a_date_is_recorded_under_the_snapshots_date() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    night_setup(dir, "messy.csv");
    let out = safeflag(dir, &["nightly"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    std::fs::copy(sample("snapshot.csv"), dir.join("snapshot.csv")).unwrap();
    let out = safeflag(dir, &["nightly", "--date", "2025-11-22"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = safeflag(dir, &["runs", "--json"]);
    let runs: safeflag_pipeline::reports::RunsJson = serde_json::from_str(&stdout(&out)).unwrap();
    let seen: Vec<(&str, &str)> = runs
        .runs
        .iter()
        .map(|r| (r.run_date.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(
        seen,
        [("2025-11-22", "ok"), ("2025-11-21", "gate_failed")],
        "newest night first, the failed one under its snapshot date"
    );
}

/// Generates a small labelled training set in `dir`.
fn labelled(dir: &Path) {
    let out = safeflag(
        dir,
        &[
            "generate",
            "--rows",
            "6000",
            "--snapshots",
            "3",
            "--first-date",
            "2024-01-01",
            "--out",
            "train.parquet",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn train(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["train", "train.parquet", "--out", "mine/model", "-q"];
    args.extend_from_slice(extra);
    safeflag(dir, &args)
}

/// A model trained into a new directory scores without `--prompts` (the
/// prompts used to be looked for beside the model directory, so it could
/// not); training into a directory that holds a model is refused without
/// `--force`; prompts given to `train` travel in the model directory.
#[test]
fn a_new_model_scores_with_its_prompts_and_is_never_silently_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    labelled(dir);
    let out = train(dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let snapshot = sample("snapshot.csv");
    let score = |out_dir: &str| {
        safeflag(
            dir,
            &[
                "score",
                snapshot.to_str().unwrap(),
                "--model",
                "mine/model",
                "--out",
                out_dir,
                "--json",
            ],
        )
    };
    let out = score("a");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let m: safeflag_report::RunManifest = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(m.settings.prompts.path, None, "the built-in prompts");

    let before = std::fs::read(dir.join("mine/model/model.json")).unwrap();
    let out = train(dir, &["--seed", "7"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("already holds a model") && stderr(&out).contains("--force"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(dir.join("mine/model/model.json")).unwrap(),
        before
    );

    std::fs::write(dir.join("prompts.toml"), "default = \"Talk it through.\"\n").unwrap();
    let out = train(
        dir,
        &["--seed", "7", "--force", "--prompts", "prompts.toml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_ne!(
        std::fs::read(dir.join("mine/model/model.json")).unwrap(),
        before
    );
    let out = score("b");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let m: safeflag_report::RunManifest = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        m.settings.prompts.path,
        Some(Path::new("mine/model").join("coaching-prompts.toml"))
    );
    let queue = std::fs::read_to_string(dir.join("b/queue.csv")).unwrap();
    assert!(queue.contains("Talk it through."));
}

/// `-v` shows info lines from every crate that logs: the ingest crate's
/// validation summary and the pipeline's review suppression.
#[test]
fn verbose_logs_reach_every_crate() {
    let dir = tempfile::tempdir().unwrap();
    night_setup(dir.path(), "snapshot.csv");
    let out = safeflag(dir.path(), &["-v", "nightly"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("INFO") && err.contains("validated"), "{err}");
    assert!(err.contains("review suppression"), "{err}");
    let out = safeflag(dir.path(), &["nightly"]);
    assert!(!stderr(&out).contains("INFO"), "{}", stderr(&out));
}
