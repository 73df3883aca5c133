//! `safeflag explain`: a queued child, an unqueued child, a case id, an
//! unknown id; the contributions against the probability the run published,
//! the rank against an independent count, and the what-if against a real
//! rescoring of the edited snapshot.

use polars::prelude::*;
use serde_json::Value;

use crate::*;

fn score_run(dir: &Path, snapshot: &Path, model: &Path, out: &str) {
    let o = safeflag(
        dir,
        &[
            "score",
            snapshot.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--out",
            out,
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

fn explain_json(dir: &Path, run: &str, id: &str) -> Value {
    let o = safeflag(dir, &["explain", id, "--run", run, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn scores(run: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(run.join("scores.parquet")).unwrap())
        .finish()
        .unwrap()
}

/// The probability the run published for a child.
fn published(scores: &DataFrame, child: &str) -> f64 {
    let kids = scores.column("child_id").unwrap().str().unwrap();
    let i = kids.iter().position(|k| k == Some(child)).unwrap();
    scores
        .column("probability")
        .unwrap()
        .f64()
        .unwrap()
        .get(i)
        .unwrap()
}

/// The model's Platt scaling, read from `model.json` by hand.
fn platt(model: &Path) -> (f64, f64) {
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("model.json")).unwrap()).unwrap();
    let c = &m["content"]["calibration"];
    (c["a"].as_f64().unwrap(), c["b"].as_f64().unwrap())
}

/// The contributions add up to the log-odds (exactly for the logistic model,
/// to `tolerance` for the trees' Shapley values), and the log-odds,
/// calibrated by hand, give the probability the scoring kernel published.
fn assert_adds_up(e: &Value, model: &Path, scores: &DataFrame, tolerance: f64) {
    let contributions = e["contributions"].as_array().unwrap();
    // One line per factor: a feature, or a group of them.
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("model.json")).unwrap()).unwrap();
    let mut factors: Vec<&str> = m["content"]["feature_spec"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["group"].as_str().or(f["name"].as_str()).unwrap())
        .collect();
    factors.sort_unstable();
    factors.dedup();
    assert_eq!(contributions.len(), factors.len(), "every factor is listed");
    let sum: f64 = contributions
        .iter()
        .map(|c| c["contribution"].as_f64().unwrap())
        .sum();
    let (base, z) = (e["base"].as_f64().unwrap(), e["log_odds"].as_f64().unwrap());
    assert!((base + sum - z).abs() < tolerance, "{base} + {sum} != {z}");
    let (a, b) = platt(model);
    let p = 1.0 / (1.0 + (-(a * z + b)).exp());
    let child = e["child_id"].as_str().unwrap();
    let run_p = published(scores, child);
    assert!((p - run_p).abs() < 1e-12, "{p} against the run's {run_p}");
    assert_eq!(e["probability"].as_f64().unwrap(), run_p);
    for c in contributions {
        assert!(
            !c["label"].as_str().unwrap().contains('_'),
            "plain words: {c}"
        );
    }
}

#[test]
fn a_queued_child_an_unqueued_child_a_case_and_an_unknown_id() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = repo().join("models/default");
    score_run(d, &sample("snapshot.csv"), &model, "run");
    let run = d.join("run");
    let s = scores(&run);
    let q = read_csv(&run.join("queue.csv"));
    let queued: std::collections::HashSet<String> = q
        .column("case_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|c| c.unwrap().to_string())
        .collect();

    // The first queued case's lead child.
    let lead = q
        .column("child_id")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .unwrap()
        .to_string();
    let e = explain_json(d, "run", &lead);
    assert_eq!(e["matched"], "child");
    assert_eq!(e["standing"]["queue_rank"], 1);
    assert_eq!(e["standing"]["case_rank"], 1);
    assert!(
        e["standing"]["why"]
            .as_str()
            .unwrap()
            .contains("queued at rank 1 of 50")
    );
    assert_adds_up(&e, &model, &s, 1e-12);

    // A child whose case is not queued, with a visit gap to close: the first
    // such row in input order.
    let snapshot = read_csv(&sample("snapshot.csv"));
    let cases = s.column("case_id").unwrap().str().unwrap();
    let kids = s.column("child_id").unwrap().str().unwrap();
    let gap = snapshot
        .column("days_since_last_visit")
        .unwrap()
        .str()
        .unwrap();
    let i = (0..s.height())
        .find(|&i| {
            !queued.contains(cases.get(i).unwrap())
                && gap
                    .get(i)
                    .and_then(|g| g.parse::<i64>().ok())
                    .is_some_and(|g| g > 30)
        })
        .unwrap();
    let (child, case) = (kids.get(i).unwrap(), cases.get(i).unwrap());
    let e = explain_json(d, "run", child);
    assert_eq!(e["standing"]["queue_rank"], Value::Null);
    assert!(
        e["standing"]["why"]
            .as_str()
            .unwrap()
            .starts_with("The case is not queued")
    );
    assert_adds_up(&e, &model, &s, 1e-12);
    // The case's rank, counted independently: 1 + cases whose highest child
    // is above this case's highest.
    let best = s
        .clone()
        .lazy()
        .group_by([col("case_id")])
        .agg([col("probability").max()])
        .collect()
        .unwrap();
    let p_case = best
        .clone()
        .lazy()
        .filter(col("case_id").eq(lit(case)))
        .collect()
        .unwrap()
        .column("probability")
        .unwrap()
        .f64()
        .unwrap()
        .get(0)
        .unwrap();
    let above = best
        .column("probability")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .filter(|p| p.unwrap() > p_case)
        .count();
    assert_eq!(e["standing"]["case_rank"], above + 1);
    assert_eq!(e["standing"]["cases"], best.height());

    // The visit what-if is the score of the same snapshot with that one
    // child's visit made today.
    let what_if = e["what_if"].as_array().unwrap();
    let visit = what_if
        .iter()
        .find(|w| w["action"] == "a home visit today")
        .unwrap();
    let mut edited = snapshot.clone();
    let gaps: Vec<Option<String>> = gap
        .iter()
        .enumerate()
        .map(|(r, g)| {
            if r == i {
                Some("0".to_string())
            } else {
                g.map(String::from)
            }
        })
        .collect();
    edited
        .with_column(Column::new("days_since_last_visit".into(), gaps))
        .unwrap();
    let edited_path = d.join("edited.csv");
    CsvWriter::new(std::fs::File::create(&edited_path).unwrap())
        .finish(&mut edited)
        .unwrap();
    score_run(d, &edited_path, &model, "edited");
    let p_after = published(&scores(&d.join("edited")), child);
    assert!(
        (visit["probability"].as_f64().unwrap() - p_after).abs() < 1e-12,
        "{visit} against {p_after}"
    );
    let change = visit["change"].as_f64().unwrap();
    assert!((change - (p_after - published(&s, child))).abs() < 1e-12);

    // A case id explains its highest child; the table and the page.
    let e = explain_json(d, "run", case);
    assert_eq!(e["matched"], "case");
    assert_eq!(e["child_id"], e["standing"]["lead_child_id"]);
    let o = safeflag(d, &["explain", case, "--run", "run", "--html", "e.html"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(
        table.contains("factor") && table.contains("case rank"),
        "{table}"
    );
    assert_eq!(mode(&d.join("e.html")), 0o600);
    let page = std::fs::read_to_string(d.join("e.html")).unwrap();
    assert!(page.contains(e["child_id"].as_str().unwrap()));

    // An unknown id: exit 1, one line.
    let o = safeflag(d, &["explain", "NO-SUCH-ID", "--run", "run"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("neither a child id nor a case id"), "{err}");

    // An input that changed since the run is refused, not explained.
    let o = safeflag(
        d,
        &[
            "explain",
            child,
            "--run",
            "run",
            "--input",
            edited_path.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("sha256"), "{}", stderr(&o));
}

#[test]
fn a_boosted_tree_explanation_adds_up_to_the_published_score() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = train_gbm(d);
    score_run(d, &sample("snapshot.csv"), &model, "run");
    let s = scores(&d.join("run"));
    let kids = s.column("child_id").unwrap().str().unwrap();
    for i in [0, 1234, s.height() - 1] {
        let e = explain_json(d, "run", kids.get(i).unwrap());
        assert_adds_up(&e, &model, &s, 1e-6);
        // The trees read age in days as a number: one factor, in words.
        age_factor(&e);
    }
}

/// The explanation's one age factor, its value in words (days, months or years).
fn age_factor(e: &serde_json::Value) -> &serde_json::Value {
    let age = e["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["feature"] == "age")
        .expect("one age factor");
    let value = age["value"].as_str().unwrap();
    assert!(
        ["day", "month", "year"].iter().any(|u| value.contains(u)),
        "{value}"
    );
    age
}

/// A model on the shaped features explains each shape as one factor with
/// the child's value ("age: 3 months"), its pieces adding up exactly; the
/// queue's reasons name factors, never a piece.
#[test]
fn a_shaped_model_explains_each_shape_as_one_factor() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = train_shaped(d);
    score_run(d, &sample("snapshot.csv"), &model, "run");
    let s = scores(&d.join("run"));
    let kids = s.column("child_id").unwrap().str().unwrap();
    for i in [0, 777, s.height() - 1] {
        let e = explain_json(d, "run", kids.get(i).unwrap());
        assert_adds_up(&e, &model, &s, 1e-12);
        assert_eq!(age_factor(&e)["label"], "age");
    }
    let q = read_csv(&d.join("run/queue.csv"));
    let reasons: Vec<String> = q
        .column("reasons")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|r| r.unwrap_or_default().to_string())
        .collect();
    assert!(!reasons.is_empty());
    for r in &reasons {
        assert!(!r.contains("_from_") && !r.contains("rises from"), "{r}");
    }
    assert!(
        reasons.iter().any(|r| r.contains("age: ")),
        "an infant's age is among the reasons: {reasons:?}"
    );
}
