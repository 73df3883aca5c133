//! End-to-end tests of the `safeflag` binary.
//!
//! Modules:
//! * `validate`: reports, JSON, quarantine files, the gate and exit codes.
//! * `errors`: one-line errors and exit codes for inputs that cannot be read.
//! * `generate`: determinism and the committed data samples.
//! * `model`: training and evaluation, artifact determinism and tamper refusal.
//! * `score`: the queue, its determinism and capacity, the gate, kills mid-write.
//! * `nightly`: two nights with reviews, suppression, the lock, the gate, kill and rerun.
//! * `report`: exports and reports read back with independent readers.

mod errors;
mod generate;
mod model;
mod nightly;
mod report;
mod score;
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

/// A file in `data-samples/`.
pub fn sample(name: &str) -> PathBuf {
    repo().join("data-samples").join(name)
}

/// Runs `safeflag` with `args` in `dir`.
pub fn safeflag(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_safeflag"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// `safeflag score SNAPSHOT --model models/default EXTRA...` in `dir`.
pub fn score_with(dir: &Path, snapshot: &Path, extra: &[&str]) -> Output {
    let model = repo().join("models/default");
    let mut args = vec![
        "score",
        snapshot.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    safeflag(dir, &args)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
