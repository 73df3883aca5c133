//! `safeflag score` end to end: the queue, its determinism, capacity, the
//! gate, a tampered model, and a run killed while writing.

use crate::*;

fn score(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    score_with(dir, &sample("snapshot.csv"), extra)
}

fn manifest(dir: &std::path::Path) -> safeflag_report::RunManifest {
    safeflag_report::RunManifest::read(dir).unwrap()
}

#[test]
fn sample_queue_is_ranked_reasoned_reconciled_and_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let out = score(dir.path(), &["--out", "a", "--scores-arrow"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Batch (stderr not a terminal): no progress bar, only log lines.
    assert!(
        !stderr(&out).contains("read and validate"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("queue: a/queue.csv"),
        "{}",
        stdout(&out)
    );
    let m = manifest(&dir.path().join("a"));
    let c = &m.counts;
    assert_eq!(c.rows_read, 10_000);
    assert_eq!(c.rows_read, c.rows_scored + c.rows_quarantined);
    assert_eq!(c.cases_queued, 50, "the default queue is 50 cases");
    assert_eq!(m.status, safeflag_report::manifest::RunStatus::Ok);

    let q = std::fs::read_to_string(dir.path().join("a/queue.csv")).unwrap();
    let mut lines = q.lines();
    assert_eq!(
        lines.next().unwrap(),
        "rank,case_id,child_id,office,supervisor_id,worker_id,probability,likelihood,band,tier,reasons,prompt,other_children,case_type,youngest_age_days,snapshot_date,model_id"
    );
    // Every row says which night and model it is from, so nights stack.
    let stamp = format!(",2025-11-21,{}", m.model.id);
    assert!(q.lines().skip(1).all(|l| l.ends_with(&stamp)), "{q}");
    use polars::prelude::SerReader as _;
    let scores = polars::prelude::ParquetReader::new(
        std::fs::File::open(dir.path().join("a/scores.parquet")).unwrap(),
    )
    .finish()
    .unwrap();
    let ids = scores.column("model_id").unwrap().str().unwrap().clone();
    assert_eq!(ids.len(), 10_000);
    assert!(ids.iter().all(|v| v == Some(m.model.id.as_str())));
    assert_eq!(
        scores.column("snapshot_date").unwrap().dtype(),
        &polars::prelude::DataType::Date
    );
    let mut last_p = f64::INFINITY;
    let mut cases = std::collections::HashSet::new();
    let mut rank = 0;
    for line in q.lines().skip(1) {
        rank += 1;
        let f: Vec<&str> = line.splitn(8, ',').collect();
        assert_eq!(f[0], rank.to_string());
        assert!(cases.insert(f[1].to_string()), "a case appears once");
        let p: f64 = f[6].parse().unwrap();
        assert!(p <= last_p, "ranked by probability");
        last_p = p;
        assert!(line.contains(" in 100"), "plain-words likelihood: {line}");
    }
    assert_eq!(rank, 50);
    assert!(q.contains("safe-sleep education"), "the built-in prompts");

    // Same input, model and settings: byte-identical outputs.
    let out = score(dir.path(), &["--out", "b", "--scores-arrow"]);
    assert_eq!(out.status.code(), Some(0));
    for f in [
        "queue.csv",
        "queue.parquet",
        "scores.parquet",
        "scores.arrow",
        "quarantine.csv",
    ] {
        let a = std::fs::read(dir.path().join("a").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("b").join(f)).unwrap();
        assert!(a == b, "{f} differs between runs");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["queue.csv", "scores.parquet", "manifest.json"] {
            let mode = std::fs::metadata(dir.path().join("a").join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }

    // Without --scores-arrow the same run writes no Arrow IPC file, removes
    // the earlier run's, and leaves every other output as it was.
    let before: Vec<Vec<u8>> = ["queue.csv", "queue.parquet", "scores.parquet"]
        .iter()
        .map(|f| std::fs::read(dir.path().join("a").join(f)).unwrap())
        .collect();
    let out = score(dir.path(), &["--out", "a"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!dir.path().join("a/scores.arrow").exists());
    assert!(!stdout(&out).contains("scores.arrow"), "{}", stdout(&out));
    for (f, was) in ["queue.csv", "queue.parquet", "scores.parquet"]
        .iter()
        .zip(&before)
    {
        let now = std::fs::read(dir.path().join("a").join(f)).unwrap();
        assert!(&now == was, "{f} changed without the Arrow file");
    }
    let files: Vec<String> = manifest(&dir.path().join("a"))
        .outputs
        .into_iter()
        .map(|o| o.file)
        .collect();
    assert_eq!(
        files,
        [
            "queue.csv",
            "queue.parquet",
            "scores.parquet",
            "quarantine.csv"
        ]
    );
}

#[test]
fn office_capacity_is_respected() {
    let dir = tempfile::tempdir().unwrap();
    let out = score(
        dir.path(),
        &[
            "--out",
            "o",
            "--office-capacity",
            "2",
            "--capacity",
            "Northside=4",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let q = std::fs::read_to_string(dir.path().join("o/queue.csv")).unwrap();
    let mut by: std::collections::BTreeMap<String, usize> = Default::default();
    for line in q.lines().skip(1) {
        *by.entry(line.split(',').nth(3).unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(by.get("Northside"), Some(&4));
    assert!(
        by.iter().all(|(o, n)| o == "Northside" || *n == 2),
        "{by:?}"
    );
    assert_eq!(by.len(), 6);
}

#[test]
fn a_broken_extract_publishes_no_queue() {
    let dir = tempfile::tempdir().unwrap();
    // A queue from an earlier good night in the same directory must not survive.
    let out = score(dir.path(), &["--out", "night"]);
    assert_eq!(out.status.code(), Some(0));
    let out = score_with(dir.path(), &sample("messy.csv"), &["--out", "night"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("data-quality gate"));
    assert!(!dir.path().join("night/queue.csv").exists());
    assert!(!dir.path().join("night/scores.parquet").exists());
    assert!(dir.path().join("night/quarantine.csv").exists());
    assert_eq!(
        manifest(&dir.path().join("night")).status,
        safeflag_report::manifest::RunStatus::GateFailed
    );
}

#[test]
fn a_tampered_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = repo().join("models/default/model.json");
    std::fs::create_dir_all(dir.path().join("m/default")).unwrap();
    let text =
        std::fs::read_to_string(&src)
            .unwrap()
            .replacen("\"intercept\": ", "\"intercept\": 1", 1);
    std::fs::write(dir.path().join("m/default/model.json"), text).unwrap();
    let snapshot = sample("snapshot.csv");
    let out = safeflag(
        dir.path(),
        &[
            "score",
            snapshot.to_str().unwrap(),
            "--model",
            "m/default",
            "--out",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("does not match its sha256"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("x/queue.csv").exists());
}

#[test]
fn a_run_killed_while_writing_leaves_no_partial_queue() {
    let dir = tempfile::tempdir().unwrap();
    let out = safeflag(
        dir.path(),
        &[
            "generate",
            "--rows",
            "150000",
            "--seed",
            "8",
            "--no-outcome",
            "--out",
            "big.parquet",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let model = repo().join("models/default");
    // Measure one whole run, then kill runs at points spread across it.
    let t = std::time::Instant::now();
    let out = safeflag(
        dir.path(),
        &[
            "score",
            "big.parquet",
            "--model",
            model.to_str().unwrap(),
            "--out",
            "full",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let total = t.elapsed();
    let complete_queue = std::fs::read(dir.path().join("full/queue.csv")).unwrap();
    for (i, frac) in [0.3, 0.6, 0.8, 0.9, 0.95, 0.99].iter().enumerate() {
        let out_dir = format!("k{i}");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_safeflag"))
            .args([
                "score",
                "big.parquet",
                "--model",
                model.to_str().unwrap(),
                "--out",
                &out_dir,
                "-q",
            ])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(total.mul_f64(*frac));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let d = dir.path().join(&out_dir);
        // Whatever was published under a final name is whole.
        if let Ok(q) = std::fs::read(d.join("queue.csv")) {
            assert_eq!(q, complete_queue, "kill at {frac}: queue.csv is partial");
        }
        if d.join("manifest.json").exists() {
            assert_eq!(
                manifest(&d).status,
                safeflag_report::manifest::RunStatus::Ok
            );
            assert!(d.join("queue.csv").exists());
        }
    }
}
