//! The rolling-origin backtest through the binary, on a generated extract:
//! what each cut-off trained on, its figures checked against `evaluate` on
//! the same rows with the same model, the choice by regret recomputed, and
//! the chosen model's card.

use serde_json::Value;

use crate::*;

#[test]
fn a_backtest_over_eight_cutoffs_agrees_with_evaluate_and_records_its_choice() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = safeflag(
        d,
        &[
            "generate",
            "--extract",
            "x",
            "--children",
            "2500",
            "--years",
            "3",
            "--seed",
            "11",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let args = [
        "backtest",
        "x",
        "--from",
        "2023-01-15",
        "--to",
        "2025-12-31",
        "--every",
        "28",
        "--label-days",
        "180",
        "--label-lag",
        "30",
        "--period",
        "56",
        "--cutoffs",
        "8",
        "--capacity",
        "20",
        "--candidate",
        "logistic-l2-1",
        "--candidate",
        "logistic-l2-10",
        "--candidate",
        "gbm-100x3",
        "--keep",
        "keep",
        "--out",
        "chosen",
        "--synthetic",
        "--json",
    ];
    let out = safeflag(d, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = &json["backtest"];
    let candidates = b["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 3);
    let date =
        |v: &Value| chrono::NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d").unwrap();

    for c in candidates {
        let periods = c["periods"].as_array().unwrap();
        assert_eq!(periods.len(), 8);
        for (i, p) in periods.iter().enumerate() {
            let cutoff = date(&p["cutoff"]);
            if i > 0 {
                assert_eq!((cutoff - date(&periods[i - 1]["cutoff"])).num_days(), 56);
            }
            // Trained only on rows whose 180-day window closed, with the
            // 30-day lag, by the cut-off; scored on the period after it.
            assert!(
                (cutoff - date(&p["last_trained_date"])).num_days() >= 210,
                "{p}"
            );
            let last = date(&p["last_date"]);
            assert!(last >= cutoff && (last - cutoff).num_days() < 56);
            let r = &p["precision_at_capacity"];
            assert_eq!(r["n"].as_u64().unwrap(), 20 * p["nights"].as_u64().unwrap());
            assert!(r["low"].as_f64().unwrap() <= r["rate"].as_f64().unwrap());
        }
    }

    // The choice: the smallest worst shortfall against each period's best.
    let values: Vec<Vec<f64>> = candidates
        .iter()
        .map(|c| {
            c["periods"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["precision_at_capacity"]["rate"].as_f64().unwrap())
                .collect()
        })
        .collect();
    let worst: Vec<f64> = values
        .iter()
        .map(|v| {
            (0..8)
                .map(|p| values.iter().map(|w| w[p]).fold(0.0, f64::max) - v[p])
                .fold(0.0, f64::max)
        })
        .collect();
    let chosen = b["chosen"].as_u64().unwrap() as usize;
    for (i, w) in worst.iter().enumerate() {
        assert!((candidates[i]["worst_regret"].as_f64().unwrap() - w).abs() < 1e-12);
        assert!(worst[chosen] <= w + 1e-12);
    }

    // Every period of the default settings, as `evaluate` sees it with the
    // period's kept model on the period's kept rows: the same figures.
    let default = &candidates[0];
    assert_eq!(default["candidate"]["name"], "logistic-l2-1");
    for (i, p) in default["periods"].as_array().unwrap().iter().enumerate() {
        let period = d
            .join("keep")
            .join(format!("{:02}-{}", i + 1, p["cutoff"].as_str().unwrap()));
        let k = (20 * p["nights"].as_u64().unwrap()).to_string();
        let test = period.join("test.parquet");
        let model = period.join("logistic-l2-1");
        let out = safeflag(
            d,
            &[
                "evaluate",
                test.to_str().unwrap(),
                "--model",
                model.to_str().unwrap(),
                "--k",
                &k,
                "--json",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let e: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(e["evaluation"], p["evaluation"], "period {}", i + 1);
        assert_eq!(e["fairness"], p["fairness"], "period {}", i + 1);
        assert_eq!(mode(&test), 0o600);
    }

    // The chosen settings, trained on every labelled row, carry the backtest.
    let chosen_name = candidates[chosen]["candidate"]["name"].as_str().unwrap();
    let card = std::fs::read_to_string(d.join("chosen/model-card.md")).unwrap();
    assert!(card.contains("## Backtest"), "{card}");
    assert!(
        card.contains(&format!("Chosen: **{chosen_name}**")),
        "{card}"
    );
    let model = std::fs::read_to_string(d.join("chosen/model.json")).unwrap();
    let model: Value = serde_json::from_str(&model).unwrap();
    assert_eq!(model["content"]["backtest"], *b);
    assert_eq!(
        model["content"]["params"],
        candidates[chosen]["candidate"]["params"]
    );

    // The default settings alone, from the same first cut-off for two
    // periods: the same figures to the bit (every fit is seeded, and no
    // candidate depends on the others).
    let first = default["periods"][0]["cutoff"].as_str().unwrap();
    let alone: Vec<&str> = args[..14]
        .iter()
        .copied()
        .chain([
            "--cutoffs",
            "2",
            "--first-cutoff",
            first,
            "--capacity",
            "20",
        ])
        .chain(["--candidate", "logistic-l2-1", "--json"])
        .collect();
    let again = safeflag(d, &alone);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    let periods = again["backtest"]["candidates"][0]["periods"]
        .as_array()
        .unwrap();
    assert_eq!(periods[..], default["periods"].as_array().unwrap()[..2]);
}

#[test]
fn a_backtest_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let x = sample("extract");
    let x = x.to_str().unwrap();
    let out = safeflag(dir.path(), &["backtest", x]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--from, --to and --every"),
        "{}",
        stderr(&out)
    );
    let out = safeflag(
        dir.path(),
        &[
            "backtest",
            x,
            "--from",
            "2024-01-01",
            "--to",
            "2024-06-01",
            "--every",
            "30",
            "--candidate",
            "nope",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no candidate is named `nope`"),
        "{}",
        stderr(&out)
    );
}
