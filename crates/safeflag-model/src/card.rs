//! The model card written beside every artifact.

use std::fmt::Write as _;

use crate::artifact::ModelArtifact;
use crate::backtest::{BacktestRecord, CANDIDATE_HEADERS, PERIOD_HEADERS};
use crate::fairness::FairnessTable;

/// A share as a percentage with two decimals: `0.0153` -> `1.53%`.
pub fn pct(v: f64) -> String {
    format!("{:.2}%", v * 100.0)
}

/// A rate with three decimals, or `-` when undefined.
pub fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.3}"))
}

/// Renders `model-card.md`.
pub fn render(m: &ModelArtifact) -> String {
    let c = &m.content;
    let t = &c.training;
    let e = &c.evaluation;
    let mut s = String::new();
    let _ = writeln!(s, "# Model card: {}\n", c.name);
    if t.synthetic {
        let _ = writeln!(
            s,
            "> **Trained on synthetic data.** This model was trained on data made by `safeflag generate`; \
             it demonstrates the pipeline and must not be used to score real cases.\n"
        );
    }
    let _ = writeln!(s, "* id: `{}` (sha256 `{}`)", m.id(), m.sha256);
    let _ = writeln!(
        s,
        "* family: {}; safeflag {}",
        c.estimator.kind().as_str(),
        c.tool_version
    );
    if let crate::Estimator::Gbm(m) = &c.estimator {
        let p = &c.params;
        let _ = writeln!(
            s,
            "* trees: {} of depth at most {}, learning rate {}{}",
            m.booster.trees.len(),
            p.gbm_max_depth,
            p.gbm_learning_rate,
            p.gbm_early_stopping.map_or(String::new(), |k| format!(
                "; early stopping: at most {} trees, stopped {k} rounds after the best held-out log-loss, kept up to the best",
                p.gbm_trees
            ))
        );
    }
    let _ = writeln!(
        s,
        "* features: {} {} (spec version {}), in {} factors\n",
        c.feature_spec.features.len(),
        c.params.features.as_str(),
        c.feature_spec.version,
        c.feature_spec.factors().len()
    );

    let _ = writeln!(s, "## Intended use\n");
    let _ = writeln!(
        s,
        "Ranking open cases so that quality-assurance reviewers can choose, each night, a short list of cases \
         for a Rapid Safety Feedback style review and coaching conversation with the worker and supervisor. \
         The score says which cases share the risk profile of children who were later seriously hurt; it is \
         a prompt for a closer look.\n"
    );
    let _ = writeln!(s, "## Uses it must not have\n");
    let _ = writeln!(
        s,
        "* deciding removals, substantiations, services or any action towards a family;\n\
         * judging workers;\n\
         * reading a score as evidence or as a certainty: at the queue's size most flagged cases will never \
         have an incident (see precision below), and most incidents happen in unflagged cases (see recall).\n"
    );
    let _ = writeln!(s, "## Data\n");
    let _ = writeln!(s, "* input `{}` (sha256 `{}`)", t.input, t.input_sha256);
    let _ = writeln!(
        s,
        "* snapshots from {} to {}",
        t.snapshot_dates.0, t.snapshot_dates.1
    );
    let _ = writeln!(
        s,
        "* rows: {} read, {} quarantined, {} fitted, {} calibration, {} test, {} excluded to keep cases on one side",
        t.rows_read,
        t.rows_quarantined,
        t.rows_fit,
        t.rows_calibration,
        t.rows_test,
        t.rows_excluded
    );
    let _ = writeln!(s, "* split: {}", t.split);
    let _ = writeln!(
        s,
        "* outcome rate (fitted rows): {}\n",
        pct(t.prevalence_fit)
    );

    let _ = writeln!(s, "## Features\n");
    let _ = writeln!(
        s,
        "Features of one factor (a shape's pieces, a household item and its products with the case type) \
         are reported as that factor in reasons and explanations.\n"
    );
    let _ = writeln!(s, "| feature | factor | meaning |\n|---|---|---|");
    for f in &c.feature_spec.features {
        let meaning = match &f.transform {
            safeflag_core::Transform::Hinge { from, to, .. } => {
                format!("{}: rises from {from} to {to}, flat beyond", f.label)
            }
            _ => f.label.clone(),
        };
        let factor = f.group.as_deref().unwrap_or(&f.name);
        let _ = writeln!(s, "| `{}` | `{factor}` | {meaning} |", f.name);
    }
    let _ = writeln!(
        s,
        "\n`child_race_ethnicity` is never a model input; it is used only for the fairness audit below.\n"
    );

    let _ = writeln!(s, "## Metrics (test side, calibrated probabilities)\n");
    let _ = writeln!(s, "| metric | value |\n|---|---|");
    let _ = writeln!(
        s,
        "| rows / positives | {} / {} ({}) |",
        e.rows,
        e.positives,
        pct(e.prevalence)
    );
    let _ = writeln!(s, "| ROC AUC | {:.4} |", e.roc_auc);
    let _ = writeln!(s, "| average precision | {:.4} |", e.average_precision);
    let _ = writeln!(s, "| Brier score | {:.5} |", e.brier);
    for (name, a) in [
        ("top 1%", Some(&e.top_1_percent)),
        ("top 5%", Some(&e.top_5_percent)),
        ("queue", e.at_k.as_ref()),
    ] {
        if let Some(a) = a {
            let _ = writeln!(
                s,
                "| precision / recall at {name} (k = {}) | {} / {} |",
                a.k,
                pct(a.precision),
                pct(a.recall)
            );
        }
    }
    let _ = writeln!(s, "\nCalibration by decile of predicted probability:\n");
    let _ = writeln!(
        s,
        "| decile | rows | mean predicted | observed |\n|---|---|---|---|"
    );
    for b in &e.calibration {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            b.bin,
            b.n,
            pct(b.mean_predicted),
            pct(b.observed_rate)
        );
    }
    let _ = writeln!(s, "\n## Fairness (test side, flagged = top 5%)\n");
    for table in &c.fairness {
        fairness_section(&mut s, table);
    }
    if !t.families.is_empty() {
        families_section(&mut s, &t.families);
    }
    if let Some(b) = &c.backtest {
        backtest_section(&mut s, b);
    }
    let _ = writeln!(s, "## Limitations\n");
    let _ = writeln!(
        s,
        "* The outcome is rare: precision at any practical queue size is low. Report it with the queue.\n\
         * Recorded history (prior reports) reflects who is reported, not only what happened; groups reported \
         more often can score higher for the same true risk. Watch the fairness table.\n\
         * Scores describe the population the model was trained on; check drift before trusting them on a new extract.\n"
    );
    s
}

fn families_section(s: &mut String, families: &[crate::artifact::FamilyResult]) {
    let _ = writeln!(s, "## Families compared on the held-out rows\n");
    let _ = writeln!(
        s,
        "Each family fitted and calibrated on the same training rows and evaluated on the same held-out rows (cases and time as in the split above); within a family, the shaped features are kept only when their Brier score is lower than the standard features' by more than twice the standard error of the difference; the family, when `--choose-family` chose it, has the higher precision in the top 5%, then the higher average precision, then is the simpler.\n"
    );
    let _ = writeln!(
        s,
        "| family | settings | ROC AUC | average precision | precision, top 5% | Brier | kept |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for f in families {
        let _ = writeln!(
            s,
            "| {} | {} | {:.4} | {:.4} | {} | {:.5} | {} |",
            f.family,
            f.settings,
            f.roc_auc,
            f.average_precision,
            pct(f.precision_top_5),
            f.brier,
            if f.chosen { "yes" } else { "" }
        );
    }
    s.push('\n');
}

fn backtest_section(s: &mut String, b: &BacktestRecord) {
    let chosen = &b.candidates[b.chosen];
    let _ = writeln!(s, "## Backtest (how these settings were chosen)\n");
    let _ = writeln!(
        s,
        "A rolling-origin backtest on {}: at each of {} cut-offs every candidate was trained on what was known \
         by then (labels whose {}-day window had closed, with a {}-day recording lag) and scored the {} days \
         after it, with a queue of {} cases a night. The choice is by `{}`: the candidate whose shortfall against \
         the best candidate of each period is smallest at its worst. Chosen: **{}**.\n",
        b.input,
        chosen.periods.len(),
        b.window_days,
        b.lag_days,
        b.period_days,
        b.capacity,
        b.criterion.as_str(),
        chosen.candidate.name
    );
    markdown_table(s, &CANDIDATE_HEADERS, &b.candidate_rows());
    let _ = writeln!(s, "The chosen candidate, period by period:\n");
    markdown_table(s, &PERIOD_HEADERS, &b.period_rows());
}

fn markdown_table<const N: usize>(s: &mut String, headers: &[&str; N], rows: &[[String; N]]) {
    let _ = writeln!(s, "| {} |", headers.join(" | "));
    let _ = writeln!(s, "|{}", "---|".repeat(N));
    for r in rows {
        let _ = writeln!(s, "| {} |", r.join(" | "));
    }
    s.push('\n');
}

fn fairness_section(s: &mut String, t: &FairnessTable) {
    let _ = writeln!(
        s,
        "By {} (reference {}; groups with fewer than {} positives are marked small; a ratio is marked `!` when its whole 95% interval lies outside 0.8-1.25; a group is marked `MISCALIBRATED` when its observed/expected interval does, with at least 10 outcomes expected: the audit's warning, docs/fairness.md):\n",
        t.grouping, t.reference, t.min_positives
    );
    let _ = writeln!(
        s,
        "| group | rows | positives | mean predicted | observed / expected [95%] | flag rate | share of flags | flag-rate ratio [95%] | precision | FPR | TPR | FNR | FDR | FOR | FNR ratio | FOR ratio | FDR ratio |"
    );
    let _ = writeln!(
        s,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for g in &t.groups {
        let _ = writeln!(
            s,
            "| {}{} | {} | {} | {} | {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            g.group,
            if g.too_small { " (small)" } else { "" },
            g.n,
            g.positives.map_or("-".into(), |p| p.to_string()),
            g.mean_predicted.map_or("-".into(), pct),
            g.calibration.map_or("-".into(), |c| interval(&c)),
            if g.miscalibrated {
                " MISCALIBRATED"
            } else {
                ""
            },
            pct(g.flag_rate),
            pct(g.predicted_positive_share),
            ratio_cell(g, "flag_rate"),
            opt(g.precision),
            opt(g.fpr),
            opt(g.tpr),
            opt(g.fnr),
            opt(g.fdr),
            opt(g.r#for),
            ratio_cell(g, "fnr"),
            ratio_cell(g, "for"),
            ratio_cell(g, "fdr"),
        );
    }
    s.push('\n');
}

/// A ratio with its 95% interval: `1.50 [1.20, 1.87]`.
pub fn interval(r: &crate::fairness::RatioCi) -> String {
    format!("{:.2} [{:.2}, {:.2}]", r.ratio, r.low, r.high)
}

/// A group's ratio of `metric` to the reference, with its interval when
/// there is one, marked `!` when the interval lies outside the band.
pub fn ratio_cell(g: &crate::fairness::GroupAudit, metric: &str) -> String {
    let mark = if g.outside_band.iter().any(|x| x == metric) {
        " !"
    } else {
        ""
    };
    match (
        g.intervals.get(metric),
        g.ratios.get(metric).copied().flatten(),
    ) {
        (Some(ci), _) => format!("{}{mark}", interval(ci)),
        (None, v) => format!("{}{mark}", opt(v)),
    }
}
