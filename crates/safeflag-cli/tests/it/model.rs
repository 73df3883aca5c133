//! `safeflag train` and `safeflag evaluate` end to end on generated data.

use crate::*;

/// Generates a small labelled set with repeat snapshots, and its truth.
fn labelled(dir: &std::path::Path) {
    let out = safeflag(
        dir,
        &[
            "generate",
            "--rows",
            "12000",
            "--snapshots",
            "4",
            "--first-date",
            "2024-01-01",
            "--seed",
            "3",
            "--out",
            "train.parquet",
            "--truth",
            "truth.parquet",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn train(dir: &std::path::Path, out_dir: &str) -> safeflag_pipeline::reports::TrainingJson {
    let out = safeflag(
        dir,
        &[
            "train",
            "train.parquet",
            "--out",
            out_dir,
            "--synthetic",
            "--k",
            "50",
            "--json",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The typed document refuses unknown fields: the shape is checked too.
    let doc: safeflag_pipeline::reports::TrainingJson =
        serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc.kind, "training");
    doc
}

#[test]
fn training_is_deterministic_honest_and_documented() {
    let dir = tempfile::tempdir().unwrap();
    labelled(dir.path());
    let a = train(dir.path(), "models/a");
    // The name is part of the content: train again under the same name elsewhere.
    let _ = train(dir.path(), "again/a");
    let read = |p: &str| std::fs::read(dir.path().join(p)).unwrap();
    assert!(
        read("models/a/model.json") == read("again/a/model.json"),
        "same data and seed: byte-identical artifact"
    );

    let t = &a.training;
    assert_eq!(t.rows_read, 12_000);
    assert_eq!(
        t.rows_fit + t.rows_calibration + t.rows_test + t.rows_excluded,
        12_000
    );
    assert!(
        t.rows_excluded > 0,
        "repeat cases after the cut-off are excluded, not tested on"
    );
    assert!(t.split.starts_with("by time: train before "));

    let e = &a.evaluation;
    let auc = e.roc_auc;
    assert!(auc > 0.65 && auc < 1.0, "test AUC {auc}");
    assert_eq!(e.at_k.as_ref().map(|k| k.k), Some(50));
    assert_eq!(a.fairness[0].grouping, "child_race_ethnicity");
    assert_eq!(a.fairness[1].grouping, "age_band");

    let card = String::from_utf8(read("models/a/model-card.md")).unwrap();
    assert!(card.contains("Trained on synthetic data"), "{card}");
    assert!(card.contains("| ROC AUC |"));
    assert!(card.contains("`child_race_ethnicity` is never a model input"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("models/a/model.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Evaluate the saved model on the same file, beside the ground truth.
    let out = safeflag(
        dir.path(),
        &[
            "evaluate",
            "train.parquet",
            "--model",
            "models/a",
            "--truth",
            "truth.parquet",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: safeflag_pipeline::reports::EvaluationJson =
        serde_json::from_slice(&out.stdout).unwrap();
    let truth_auc = v.ground_truth.as_ref().unwrap().roc_auc;
    let model_auc = v.evaluation.roc_auc;
    assert!(truth_auc > 0.7 && truth_auc < 1.0, "{truth_auc}");
    assert!(model_auc > 0.65, "{model_auc}");
    assert_eq!(v.model.split('@').next(), Some("a"));
}

#[test]
fn a_changed_byte_in_the_artifact_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    labelled(dir.path());
    train(dir.path(), "models/m");
    let path = dir.path().join("models/m/model.json");
    let mut bytes = std::fs::read(&path).unwrap();
    // Change one digit of the first coefficient-like number after the header.
    let pos = bytes
        .iter()
        .enumerate()
        .skip(200)
        .find(|(_, b)| b.is_ascii_digit())
        .unwrap()
        .0;
    bytes[pos] = if bytes[pos] == b'9' {
        b'8'
    } else {
        bytes[pos] + 1
    };
    std::fs::write(&path, &bytes).unwrap();
    let out = safeflag(
        dir.path(),
        &["evaluate", "train.parquet", "--model", "models/m"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("content does not match its sha256"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn training_without_outcomes_or_with_one_snapshot_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let out = safeflag(
        dir.path(),
        &[
            "generate",
            "--rows",
            "2000",
            "--no-outcome",
            "--out",
            "s.csv",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = safeflag(dir.path(), &["train", "s.csv", "--out", "models/x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("lacks required column `outcome_critical_incident`"),
        "{}",
        stderr(&out)
    );

    let out = safeflag(
        dir.path(),
        &["generate", "--rows", "2000", "--out", "one.csv", "-q"],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = safeflag(dir.path(), &["train", "one.csv", "--out", "models/x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("pass --test-fraction"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn shipped_default_model_loads_and_scores_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let model = repo().join("models/default");
    let training = sample("training.parquet");
    let out = safeflag(
        dir.path(),
        &[
            "evaluate",
            training.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: safeflag_pipeline::reports::EvaluationJson =
        serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.model.starts_with("default@"));
    assert_eq!(v.rows_read, 50_000);
    assert!(v.evaluation.roc_auc > 0.8);
    let card = std::fs::read_to_string(model.join("model-card.md")).unwrap();
    assert!(card.contains("Trained on synthetic data"));
}

/// `--choose-family` fits both families on the same rows and keeps the one
/// with the higher precision in the top 5% of the held-out rows; with
/// `--compare-families` the family asked for is kept, and both are in the
/// card and the JSON. (Without either flag nothing is compared: the train
/// snapshots have no `families`.)
#[test]
fn train_compares_the_families_and_chooses_by_held_out_precision() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stack = sample("training.parquet");
    let run = |extra: &[&str], out: &str| -> serde_json::Value {
        let mut args = vec!["train", stack.to_str().unwrap(), "--out", out, "--json"];
        args.extend_from_slice(extra);
        let o = safeflag(d, &args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let chose = run(
        &[
            "--choose-family",
            "--gbm-trees",
            "50",
            "--features",
            "standard",
        ],
        "chosen",
    );
    let families = chose["training"]["families"].as_array().unwrap();
    assert_eq!(families.len(), 2);
    let kept: Vec<&serde_json::Value> = families.iter().filter(|f| f["chosen"] == true).collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["family"], chose["kind"]);
    let other = families.iter().find(|f| f["chosen"] == false).unwrap();
    let p = |f: &serde_json::Value| f["precision_top_5"].as_f64().unwrap();
    assert!(p(kept[0]) >= p(other), "{families:?}");
    // The kept family's figures are the model's own evaluation.
    assert_eq!(
        kept[0]["roc_auc"].as_f64(),
        chose["evaluation"]["roc_auc"].as_f64()
    );
    let card = std::fs::read_to_string(d.join("chosen/model-card.md")).unwrap();
    assert!(card.contains("## Families compared on the held-out rows"));

    // Compared but not chosen: the family asked for stays.
    let compared = run(
        &["--model", "gbm", "--gbm-trees", "50", "--compare-families"],
        "compared",
    );
    assert_eq!(compared["kind"], "gbm");
    let families = compared["training"]["families"].as_array().unwrap();
    let kept: Vec<&str> = families
        .iter()
        .filter(|f| f["chosen"] == true)
        .map(|f| f["family"].as_str().unwrap())
        .collect();
    assert_eq!(kept, vec!["gbm"]);
    // Each family on the standard set and its richer one (trees: the
    // numbers as numbers); the richer is kept only with a lower held-out
    // Brier score (clearly lower: unit-tested).
    let gbm: Vec<&serde_json::Value> = families.iter().filter(|f| f["family"] == "gbm").collect();
    assert_eq!(gbm.len(), 2, "{families:?}");
    let settings = |f: &serde_json::Value| f["settings"].as_str().unwrap().to_string();
    assert!(settings(gbm[0]).ends_with("standard features"), "{gbm:?}");
    assert!(settings(gbm[1]).ends_with("raw features"), "{gbm:?}");
    let brier = |f: &serde_json::Value| f["brier"].as_f64().unwrap();
    let kept_gbm = gbm.iter().find(|f| f["chosen"] == true).unwrap();
    let shaped = |f: &serde_json::Value| !settings(f).ends_with("standard features");
    assert!(
        !shaped(kept_gbm) || gbm.iter().all(|f| brier(kept_gbm) <= brier(f)),
        "{gbm:?}"
    );

    // By default one family on both feature sets, and the kept set is the model's.
    let auto = run(&[], "auto");
    let families = auto["training"]["families"].as_array().unwrap();
    assert_eq!(families.len(), 2);
    let settings: Vec<&str> = families
        .iter()
        .map(|f| f["settings"].as_str().unwrap())
        .collect();
    assert!(settings[0].ends_with("standard features"), "{settings:?}");
    assert!(settings[1].ends_with("shaped features"), "{settings:?}");
    let kept = families.iter().find(|f| f["chosen"] == true).unwrap();
    assert!(!shaped(kept) || families.iter().all(|f| brier(kept) <= brier(f)));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("auto/model.json")).unwrap()).unwrap();
    let set = m["content"]["params"]["features"].as_str().unwrap();
    assert!(
        kept["settings"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{set} features"))
    );
}

/// `--gbm-early-stopping` stops on held-out cases: the model holds fewer
/// trees than asked for, predicts with all of them (its SQL and scores agree
/// with `score`), and the card says so.
#[test]
fn boosted_trees_stop_early_on_held_out_cases() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stack = sample("training.parquet");
    let o = safeflag(
        d,
        &[
            "train",
            stack.to_str().unwrap(),
            "--model",
            "gbm",
            "--gbm-trees",
            "300",
            "--gbm-learning-rate",
            "0.3",
            "--gbm-early-stopping",
            "10",
            "--out",
            "es",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("es/model.json")).unwrap()).unwrap();
    let trees = m["content"]["estimator"]["booster"]["trees"]
        .as_array()
        .unwrap()
        .len();
    assert!(trees < 300, "{trees}");
    assert_eq!(m["content"]["params"]["gbm_early_stopping"], 10);
    let card = std::fs::read_to_string(d.join("es/model-card.md")).unwrap();
    assert!(
        card.contains(&format!("* trees: {trees} of depth")),
        "{card}"
    );
    assert!(card.contains("early stopping"));
    // The model as SQL is accepted: it predicts with every tree it holds.
    let o = safeflag(
        d,
        &[
            "model",
            "sql",
            "es",
            "--dialect",
            "sqlite",
            "--out",
            "q.sql",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
