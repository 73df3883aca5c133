//! Snapshots, stacks and nights from a relational extract, through the binary.

use std::path::Path;

use safeflag_pipeline::extract::ExtractSnapshotJson;
use safeflag_report::manifest::{EXTRACT_SNAPSHOT, RunManifest};

use crate::*;

fn extract() -> String {
    sample("extract").display().to_string()
}

fn snapshot_json(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> ExtractSnapshotJson {
    let mut all = vec!["snapshot", "--json"];
    all.extend(args);
    let out = safeflag_env(dir, &all, env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Replaces `from` by `to` (once) on every `n`th data line of a CSV table;
/// returns the text as it was.
fn break_every(table: &Path, n: usize, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(table).unwrap();
    let broken: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let l = if i > 0 && i % n == 0 {
                l.replacen(from, to, 1)
            } else {
                l.to_string()
            };
            l + "\n"
        })
        .collect();
    std::fs::write(table, broken).unwrap();
    text
}

#[test]
fn the_same_extract_and_date_give_the_same_bytes_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let x = extract();
    for threads in ["1", "2", "4"] {
        for ext in ["csv", "parquet"] {
            let out = format!("s{threads}.{ext}");
            let env = [
                ("POLARS_MAX_THREADS", threads),
                ("RAYON_NUM_THREADS", threads),
            ];
            snapshot_json(
                dir.path(),
                &[&x, "--as-of", "2025-06-30", "--out", &out],
                &env,
            );
            let stack = format!("k{threads}.{ext}");
            snapshot_json(
                dir.path(),
                &[
                    &x,
                    "--from",
                    "2024-03-01",
                    "--to",
                    "2024-09-01",
                    "--every",
                    "91",
                    "--out",
                    &stack,
                ],
                &env,
            );
        }
    }
    let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
    for ext in ["csv", "parquet"] {
        for base in ["s", "k"] {
            let one = read(&format!("{base}1.{ext}"));
            assert!(one.len() > 1000);
            assert_eq!(one, read(&format!("{base}2.{ext}")), "{base} {ext}");
            assert_eq!(one, read(&format!("{base}4.{ext}")), "{base} {ext}");
        }
    }
}

#[test]
fn every_built_snapshot_passes_validate_and_every_table_reconciles() {
    let dir = tempfile::tempdir().unwrap();
    let x = extract();
    let doc = snapshot_json(
        dir.path(),
        &[&x, "--out", "s.csv", "--quarantine", "q.csv"],
        &[],
    );
    for t in &doc.tables {
        assert_eq!(
            t.rows_read,
            t.rows_valid + t.rows_quarantined,
            "{}",
            t.table
        );
        assert_eq!(t.rows_quarantined, 0, "{}", t.table);
    }
    let s = doc.snapshot.unwrap();
    assert_eq!(s.as_of, "2025-12-31");
    assert_eq!(s.rows, doc.rows_written);
    assert_eq!(s.quarantined, 0);
    let out = safeflag(dir.path(), &["validate", "s.csv", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: safeflag_pipeline::reports::ValidationJson =
        serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v.rows_read, v.rows_quarantined), (s.rows, 0));
    // The quarantine file has the table column, and only a header here.
    let q = std::fs::read_to_string(dir.path().join("q.csv")).unwrap();
    assert_eq!(q, "table,row,column,rule,value\n");

    // The stack: every date built, the late ones censored, the rest labelled.
    let doc = snapshot_json(
        dir.path(),
        &[
            &x,
            "--from",
            "2024-01-01",
            "--to",
            "2025-12-31",
            "--every",
            "91",
            "--out",
            "k.parquet",
        ],
        &[],
    );
    let k = doc.stack.unwrap();
    assert_eq!(k.snapshots.len(), 9);
    assert_eq!(k.censored_dates.len(), 5, "{:?}", k.censored_dates);
    assert_eq!(k.rows, doc.rows_written);
    assert!(k.positives > 0 && k.positives < k.rows / 20, "{k:?}");
    let out = safeflag(
        dir.path(),
        &["validate", "k.parquet", "--require-outcome", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn an_agency_extract_is_read_through_its_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let x = sample("agency-extract").display().to_string();
    let mapping = sample("extract-mapping.toml").display().to_string();
    let doc = snapshot_json(
        dir.path(),
        &[&x, "--mapping", &mapping, "--out", "s.csv"],
        &[],
    );
    assert!(
        doc.tables
            .iter()
            .all(|t| t.rows_quarantined == 0 && t.rows_read > 0)
    );
    assert!(doc.rows_written > 20);
    // Without the mapping the agency's file names are not the contract's.
    let out = safeflag(dir.path(), &["snapshot", &x, "--out", "t.csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has no `persons` table"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn broken_extracts_get_one_line_errors_and_build_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x");
    copy_dir(&sample("extract"), &x);
    // A bad code in a quarter of the memberships: the gate trips (exit 3),
    // naming the table, the first row and column; nothing is written but the quarantine.
    let text = break_every(&x.join("case_members.csv"), 4, ",child,", ",kid,");
    // Data row numbers are 1-based after the header: line i is row i.
    let first = text
        .lines()
        .enumerate()
        .position(|(i, l)| i > 0 && i % 4 == 0 && l.contains(",child,"))
        .unwrap();
    let out = safeflag(
        dir.path(),
        &["snapshot", "x", "--out", "s.csv", "--quarantine", "q.csv"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("table `case_members`: data-quality gate"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "first problem: row {first}, column `role` (unknown_code)"
        )),
        "{err}"
    );
    assert!(!dir.path().join("s.csv").exists());
    let q = std::fs::read_to_string(dir.path().join("q.csv")).unwrap();
    assert!(
        q.contains(&format!("case_members,{first},role,unknown_code,kid")),
        "{q}"
    );
    // No extract date.
    std::fs::write(x.join("extract.toml"), "extracted-on = \"soon\"\n").unwrap();
    let out = safeflag(dir.path(), &["snapshot", "x", "--out", "s.csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).lines().count(), 1);
    assert!(stderr(&out).contains("extract.toml"), "{}", stderr(&out));
    // An as-of date after the extract date.
    copy_dir(&sample("extract"), &dir.path().join("y"));
    let out = safeflag(
        dir.path(),
        &["snapshot", "y", "--as-of", "2026-01-01", "--out", "s.csv"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("after the extract date 2025-12-31"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_nightly_job_runs_from_an_extract_and_keeps_the_snapshot_it_built() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[input]\nextract = \"{}\"\n[model]\ndir = \"{}\"\n[queue]\ntop = 20\n",
        extract(),
        repo().join("models/default").display()
    );
    std::fs::write(dir.path().join("safeflag.toml"), config).unwrap();
    let out = safeflag(dir.path(), &["nightly", "--date", "2025-10-01"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let run = dir.path().join("out/runs/2025-10-01");
    let manifest = RunManifest::read(&run).unwrap();
    assert_eq!(
        manifest.extract.as_deref(),
        Some(sample("extract").as_path())
    );
    assert_eq!(manifest.input.path, Path::new(EXTRACT_SNAPSHOT));
    assert_eq!(manifest.snapshot_date.as_deref(), Some("2025-10-01"));
    assert!(manifest.counts.cases_queued > 0 && manifest.counts.cases_queued <= 20);
    let built = std::fs::read(run.join(EXTRACT_SNAPSHOT)).unwrap();
    assert_eq!(
        safeflag_core::output::sha256_bytes(&built),
        manifest.input.sha256
    );
    // The same snapshot as `safeflag snapshot` builds.
    snapshot_json(
        dir.path(),
        &[&extract(), "--as-of", "2025-10-01", "--out", "s.parquet"],
        &[],
    );
    assert_eq!(std::fs::read(dir.path().join("s.parquet")).unwrap(), built);
}

#[test]
fn a_night_from_a_broken_extract_publishes_nothing_and_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x");
    copy_dir(&sample("extract"), &x);
    // Every third contact with a kind the contract does not know.
    break_every(&x.join("contacts.csv"), 3, ",face_to_face,", ",drive_by,");
    let config = format!(
        "[input]\nextract = \"x\"\n[model]\ndir = \"{}\"\n",
        repo().join("models/default").display()
    );
    std::fs::write(dir.path().join("safeflag.toml"), config).unwrap();
    let out = safeflag(dir.path(), &["nightly", "-q"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("table `contacts`: data-quality gate"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("out/runs").exists());
    let failed: Vec<_> = std::fs::read_dir(dir.path().join("out/failed"))
        .unwrap()
        .collect();
    assert_eq!(failed.len(), 1);
    let failed = failed[0].as_ref().unwrap().path();
    let q = std::fs::read_to_string(failed.join("extract-quarantine.csv")).unwrap();
    assert!(
        q.lines()
            .skip(1)
            .all(|l| l.starts_with("contacts,") && l.contains(",kind,unknown_code,drive_by"))
    );
    assert!(!failed.join(EXTRACT_SNAPSHOT).exists());
    // The attempt is in the history, with the extract's counts.
    let out = safeflag(dir.path(), &["runs", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let runs: safeflag_pipeline::reports::RunsJson = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs.runs.len(), 1);
    let run = &runs.runs[0];
    assert_eq!(
        (run.status.as_str(), run.run_date.as_str()),
        ("gate_failed", "2025-12-31")
    );
    assert_eq!(run.rows_quarantined as usize, q.lines().count() - 1);
    assert!(run.rows_read > run.rows_quarantined && run.rows_scored == 0);
}
