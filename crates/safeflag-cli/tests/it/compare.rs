//! Two models compared on the same nights: a model against itself changes
//! nothing; two different models give counts that add up, night by night,
//! in total and by office and group.

use safeflag_pipeline::compare::Comparison;

use crate::*;

fn compare(dir: &std::path::Path, args: &[&str]) -> Comparison {
    let out = safeflag(dir, &[&["compare"], args, &["--json"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_model_against_itself_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let model = repo().join("models/default");
    let model = model.to_str().unwrap();
    let stack = sample("training.parquet");
    let c = compare(
        dir.path(),
        &[model, model, stack.to_str().unwrap(), "--top", "25"],
    );
    assert!(c.labelled);
    assert_eq!(c.nights.len(), 8);
    for n in &c.nights {
        let q = &n.queues;
        assert_eq!(
            (q.queued_a, q.queued_b, q.kept, q.same_place),
            (25, 25, 25, 25)
        );
        assert_eq!((q.entered, q.left), (0, 0));
        assert_eq!(q.expected_precision_a, q.expected_precision_b);
        assert_eq!(q.realised_a, q.realised_b);
        assert_eq!(n.rank_correlation_all, Some(1.0));
    }
    assert_eq!(c.total.expected_difference, 0.0);
    assert_eq!(c.total.realised_difference, Some(0.0));
    assert!(c.by_office.is_empty() && c.by_group.is_empty());
}

#[test]
fn two_models_give_counts_that_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stack = sample("training.parquet");
    let stack = stack.to_str().unwrap();
    // A second model: the same data, a much heavier penalty.
    let out = safeflag(d, &["train", stack, "--l2", "1000", "--out", "heavy", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let model = repo().join("models/default");
    let c = compare(
        d,
        &[
            model.to_str().unwrap(),
            "heavy",
            stack,
            "--top",
            "30",
            "--office-capacity",
            "8",
        ],
    );
    let mut sum = (0, 0, 0, 0, 0);
    let mut moved = false;
    for n in &c.nights {
        let q = &n.queues;
        assert_eq!(q.queued_a, q.kept + q.left, "{}", n.date);
        assert_eq!(q.queued_b, q.kept + q.entered, "{}", n.date);
        assert!(q.queued_a <= 30 && q.same_place <= q.kept);
        let (ra, rb) = (q.realised_a.unwrap(), q.realised_b.unwrap());
        assert_eq!((ra.n, rb.n), (q.queued_a, q.queued_b));
        for r in [
            n.rank_correlation_all.unwrap(),
            n.rank_correlation_queued.unwrap_or(0.0),
        ] {
            assert!((-1.0..=1.0).contains(&r));
        }
        moved |= q.entered > 0;
        sum.0 += q.queued_a;
        sum.1 += q.queued_b;
        sum.2 += q.kept;
        sum.3 += q.entered;
        sum.4 += q.left;
    }
    assert!(
        moved,
        "the two models queued the same cases: the test shows nothing"
    );
    let t = &c.total.queues;
    assert_eq!((t.queued_a, t.queued_b, t.kept, t.entered, t.left), sum);
    for moves in [&c.by_office, &c.by_group] {
        assert_eq!(moves.iter().map(|m| m.entered).sum::<usize>(), t.entered);
        assert_eq!(moves.iter().map(|m| m.left).sum::<usize>(), t.left);
    }
    let (ra, rb) = (t.realised_a.unwrap(), t.realised_b.unwrap());
    let realised: usize = c
        .nights
        .iter()
        .map(|n| n.queues.realised_a.unwrap().hits)
        .sum();
    assert_eq!(ra.hits, realised);
    assert!((c.total.realised_difference.unwrap() - (rb.rate - ra.rate)).abs() < 1e-12);
    // The table a person reads says who enters and leaves.
    let out = safeflag(
        d,
        &[
            "compare",
            model.to_str().unwrap(),
            "heavy",
            stack,
            "--top",
            "30",
        ],
    );
    assert!(stdout(&out).contains("cases entering and leaving the queue, by office"));
}
