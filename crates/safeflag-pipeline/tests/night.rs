//! The night through the library, without the binary: two nights with a
//! review between them, the lock and the gate, each checked on what the
//! pipeline returns and what the history holds.

use std::path::{Path, PathBuf};

use safeflag_pipeline::night::{case_history, import_reviews, run_night, runs};
use safeflag_pipeline::{Config, ErrorKind, Silent};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A config in `dir` over a copy of a shipped sample.
fn config(dir: &Path, sample: &str) -> Config {
    std::fs::copy(
        repo().join("data-samples").join(sample),
        dir.join("snapshot.csv"),
    )
    .unwrap();
    let text = format!(
        "[input]\nsnapshot = \"snapshot.csv\"\n[model]\ndir = \"{}\"\n[queue]\ntop = 50\n\
         [export]\nby = [\"office\"]\nformats = [\"csv\"]\n",
        repo().join("models/default").display()
    );
    std::fs::write(dir.join("safeflag.toml"), text).unwrap();
    Config::load(&dir.join("safeflag.toml")).unwrap()
}

fn date(s: &str) -> Option<chrono::NaiveDate> {
    Some(s.parse().unwrap())
}

/// Settings that only tonight's data can check, and a pinned model: each
/// refused as the user's error, with nothing published.
#[test]
fn run_time_settings_are_checked_against_the_night() {
    let dir = tempfile::tempdir().unwrap();
    let base = config(dir.path(), "snapshot.csv");
    let sha = safeflag_pipeline::Model::load(&base.model.dir)
        .unwrap()
        .artifact
        .sha256;
    let cases: [(&str, &str); 3] = [
        (
            "[monitor]\nreference-group = \"Whtie\"\n",
            "is not a child_race_ethnicity group",
        ),
        ("[queue.capacity]\nnorthside = 3\n", "spells it `Northside`"),
        ("", "but the config pins"),
    ];
    for (extra, want) in cases {
        let mut text = std::fs::read_to_string(dir.path().join("safeflag.toml")).unwrap();
        if extra.is_empty() {
            text = text.replace(
                "[queue]",
                &format!("sha256 = \"{}\"\n[queue]", "0".repeat(64)),
            );
        } else {
            text.push_str(extra);
        }
        std::fs::write(dir.path().join("bad.toml"), text).unwrap();
        let cfg = Config::load(&dir.path().join("bad.toml")).unwrap();
        let err = run_night(&cfg, date("2025-11-21"), &Silent).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input, "{err}");
        assert!(err.to_string().contains(want), "{want}: {err}");
        assert!(!cfg.output.root.join("runs").exists(), "nothing published");
    }
    // The model's own sha256, pinned, scores.
    let text = std::fs::read_to_string(dir.path().join("safeflag.toml"))
        .unwrap()
        .replace("[queue]", &format!("sha256 = \"{sha}\"\n[queue]"));
    std::fs::write(dir.path().join("pinned.toml"), text).unwrap();
    let cfg = Config::load(&dir.path().join("pinned.toml")).unwrap();
    run_night(&cfg, date("2025-11-21"), &Silent).unwrap();
}

#[test]
fn two_nights_and_a_review_through_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "snapshot.csv");

    let first = run_night(&cfg, date("2025-11-21"), &Silent).unwrap();
    let c = first.manifest.counts;
    assert!(c.reconciles());
    assert_eq!(c.cases_queued, 50);
    assert_eq!(first.statuses.new, 50);
    assert_eq!(first.dir, cfg.output.root.join("runs/2025-11-21"));
    assert!(first.dir.join("queue.csv").exists());
    assert_eq!(first.exports.len(), 1);
    assert_eq!(first.summary.counts.cases_queued, 50);

    // The reviewer sees the top case; nothing changes by the next night.
    let queue = std::fs::read_to_string(first.dir.join("queue.csv")).unwrap();
    let header: Vec<&str> = queue.lines().next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == "case_id").unwrap();
    let top = queue.lines().nth(1).unwrap().split(',').nth(at).unwrap();
    let reviews = dir.path().join("reviews.csv");
    std::fs::write(
        &reviews,
        format!(
            "case_id,review_date,reviewer,outcome,override_reason\n{top},2025-11-21,R1,coached,\n"
        ),
    )
    .unwrap();
    assert_eq!(import_reviews(&cfg, &reviews).unwrap(), 1);

    let second = run_night(&cfg, date("2025-11-22"), &Silent).unwrap();
    let c = second.manifest.counts;
    assert_eq!(c.cases_suppressed, 1, "the reviewed case is passed over");
    assert_eq!(c.cases_queued, 50, "and its place goes to the next case");
    assert_eq!(second.statuses.continuing, 49);
    assert_eq!(second.statuses.new, 1);
    let h = case_history(&cfg, top).unwrap();
    assert_eq!(h.flags.len(), 1);
    assert_eq!(h.suppressed.len(), 1);
    assert_eq!(h.suppressed[0].0, "2025-11-22");

    // A held lock and a tripped gate fail with their own kinds.
    let held = safeflag_history::RunLock::acquire(&cfg.lock_path()).unwrap();
    let err = run_night(&cfg, date("2025-11-23"), &Silent).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Locked, "{err}");
    drop(held);
    std::fs::copy(
        repo().join("data-samples/messy.csv"),
        dir.path().join("snapshot.csv"),
    )
    .unwrap();
    let err = run_night(&cfg, None, &Silent).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Gate, "{err}");
    let recorded = runs(&cfg).unwrap();
    assert_eq!(recorded[0].run_date, "2025-11-22", "newest night first");
    let mut seen: Vec<(String, String)> = recorded
        .into_iter()
        .map(|r| (r.run_date, r.status))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("2025-11-21".to_string(), "gate_failed".to_string()),
            ("2025-11-21".to_string(), "ok".to_string()),
            ("2025-11-22".to_string(), "ok".to_string()),
        ],
        "the failed night is recorded under its snapshot's date"
    );
}
