//! End-to-end tests of the `safeflag` binary.
//!
//! Modules:
//! * `validate`: reports, JSON, quarantine files, the gate and exit codes.
//! * `corpus`: a corpus of hostile files: exit 0, 1 or 3, one-line errors,
//!   counts against an independent strict reader.
//! * `errors`: one-line errors and exit codes for inputs that cannot be read.
//! * `exits`: one test per exit code, and the defects of the run-as-a-library
//!   review (each failed on the code before it).
//! * `explain`: any scored child explained, checked against the run and a rescoring.
//! * `generate`: determinism and the committed data samples.
//! * `hostile`: stray quotes, formula payloads, colliding recipient names, a
//!   hostile umask.
//! * `model`: training and evaluation, artifact determinism and tamper refusal.
//! * `score`: the queue, its determinism and capacity, the gate, kills mid-write.
//! * `nightly`: two nights with reviews, suppression, the lock, the gate, kill and rerun.
//! * `report`: exports and reports read back with independent readers.
//! * `snapshots`: insta snapshots of help, tables, JSON and one-line errors.

mod backtest;
mod compare;
mod corpus;
mod errors;
mod exits;
mod explain;
mod extract;
mod generate;
mod hostile;
mod model;
mod nightly;
mod outcomes;
mod report;
mod review;
mod score;
mod snapshots;
mod sql;
mod validate;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A file's permission bits (`0o600` for owner-only).
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A file in `data-samples/`.
pub fn sample(name: &str) -> PathBuf {
    repo().join("data-samples").join(name)
}

/// Copies a folder and everything in it.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Runs `safeflag` with `args` in `dir`.
pub fn safeflag(dir: &Path, args: &[&str]) -> Output {
    safeflag_env(dir, args, &[])
}

/// Runs `safeflag` with `args` in `dir`, with extra environment variables.
/// `SAFEFLAG_TEST_BIN` runs the suite against another build (an older one,
/// to show that a new test fails there).
pub fn safeflag_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let bin = std::env::var_os("SAFEFLAG_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_safeflag")));
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("SAFEFLAG_FAULT")
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// `safeflag score SNAPSHOT --model models/default EXTRA...` in `dir`.
pub fn score_with(dir: &Path, snapshot: &Path, extra: &[&str]) -> Output {
    score_with_env(dir, snapshot, extra, &[])
}

/// [`score_with`], with extra environment variables.
pub fn score_with_env(dir: &Path, snapshot: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let model = repo().join("models/default");
    let mut args = vec![
        "score",
        snapshot.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    safeflag_env(dir, &args, env)
}

/// A CSV with every column read as text.
pub fn read_csv(path: &Path) -> polars::prelude::DataFrame {
    use polars::prelude::*;
    CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .unwrap()
        .finish()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Trains a model on the shipped training sample into `dir/out` with
/// `extra` arguments, and returns its path.
fn train_sample(dir: &Path, out: &str, extra: &[&str]) -> PathBuf {
    let stack = sample("training.parquet");
    let mut args = vec!["train", stack.to_str().unwrap(), "--out", out, "-q"];
    args.extend_from_slice(extra);
    let o = safeflag(dir, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    dir.join(out)
}

/// A logistic model on the shaped features, in `dir/shaped`.
pub fn train_shaped(dir: &Path) -> PathBuf {
    train_sample(dir, "shaped", &["--features", "shaped"])
}

/// A gradient-boosting model on the numbers as numbers (its richer set;
/// `train` weighs it against the standard set only when none is named), in
/// `dir/gbm`.
pub fn train_gbm(dir: &Path) -> PathBuf {
    train_sample(dir, "gbm", &["--model", "gbm", "--features", "raw"])
}
