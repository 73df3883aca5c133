//! The human tables of an evaluation and of fairness audits, printed by
//! `train` and `evaluate`, and of the review practice measures, printed by
//! `reviews report`, and of the look back at outcomes, printed by `outcomes report`.

use std::fmt::Write as _;

use safeflag_model::card::pct;
use safeflag_model::evaluate::Evaluation;
use safeflag_model::fairness::FairnessTable;
use safeflag_review::measures::{FlagCounts, OverrideCounts, PracticeMeasures};

/// The human table of an evaluation.
pub fn evaluation_table(e: &Evaluation, truth: Option<&Evaluation>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "test rows {} with {} positives ({})",
        e.rows,
        e.positives,
        pct(e.prevalence)
    );
    let _ = writeln!(
        s,
        "  {:<34} {:>10}{}",
        "metric",
        "model",
        if truth.is_some() {
            "  ground truth"
        } else {
            ""
        }
    );
    let row = |s: &mut String, name: &str, m: String, t: Option<String>| {
        let _ = writeln!(
            s,
            "  {name:<34} {m:>10}{}",
            t.map(|t| format!("  {t:>12}")).unwrap_or_default()
        );
    };
    row(
        &mut s,
        "ROC AUC",
        format!("{:.4}", e.roc_auc),
        truth.map(|t| format!("{:.4}", t.roc_auc)),
    );
    row(
        &mut s,
        "average precision",
        format!("{:.4}", e.average_precision),
        truth.map(|t| format!("{:.4}", t.average_precision)),
    );
    row(
        &mut s,
        "Brier score",
        format!("{:.5}", e.brier),
        truth.map(|t| format!("{:.5}", t.brier)),
    );
    let mut at = vec![
        ("top 1%", &e.top_1_percent, truth.map(|t| &t.top_1_percent)),
        ("top 5%", &e.top_5_percent, truth.map(|t| &t.top_5_percent)),
    ];
    if let Some(k) = &e.at_k {
        at.push(("queue", k, truth.and_then(|t| t.at_k.as_ref())));
    }
    for (name, a, t) in at {
        row(
            &mut s,
            &format!("precision at {name} (k={})", a.k),
            pct(a.precision),
            t.map(|t| pct(t.precision)),
        );
        row(
            &mut s,
            &format!("recall at {name} (k={})", a.k),
            pct(a.recall),
            t.map(|t| pct(t.recall)),
        );
    }
    let _ = writeln!(s, "\ncalibration by decile (mean predicted vs observed):");
    for b in &e.calibration {
        let _ = writeln!(
            s,
            "  {:>2}  n={:<8} predicted {:>7}  observed {:>7}",
            b.bin,
            b.n,
            pct(b.mean_predicted),
            pct(b.observed_rate)
        );
    }
    s
}

/// Crossed groups smaller than this are left out of the printed table (they
/// are in the JSON and the model card).
const CROSSED_MIN_ROWS: usize = 100;

/// The human table of fairness audits.
pub fn fairness_table(tables: &[FairnessTable]) -> String {
    use safeflag_model::card::{interval, ratio_cell};
    let mut s = String::new();
    let mut warned = Vec::new();
    for t in tables {
        let crossed = t.grouping.contains(" x ");
        let _ = writeln!(
            s,
            "\nfairness by {} at the top 5% (reference {}; * = fewer than {} incidents, error rates not judged; ! = the 95% interval lies outside 0.8-1.25; O/E = observed over expected incidents){}:",
            safeflag_score::monitor::grouping_words(&t.grouping),
            t.reference,
            t.min_positives,
            if crossed {
                format!("; groups of {CROSSED_MIN_ROWS} children or more (all in --json)")
            } else {
                String::new()
            }
        );
        let rows: Vec<[String; 7]> = t
            .groups
            .iter()
            .filter(|g| !crossed || g.n >= CROSSED_MIN_ROWS)
            .map(|g| {
                [
                    g.group.clone(),
                    g.n.to_string(),
                    g.positives.map_or("-".into(), |p| {
                        format!("{p}{}", if g.too_small { "*" } else { "" })
                    }),
                    g.mean_predicted.map_or("-".into(), pct),
                    g.calibration.map_or("-".into(), |c| {
                        format!(
                            "{}{}",
                            interval(&c),
                            if g.miscalibrated { " WARN" } else { "" }
                        )
                    }),
                    pct(g.flag_rate),
                    ratio_cell(g, "flag_rate"),
                ]
            })
            .collect();
        s.push_str(&grid(
            &[
                "group",
                "rows",
                "incidents",
                "mean p",
                "O/E [95%]",
                "flag rate",
                "flag ratio [95%]",
            ],
            &rows,
        ));
        for g in t.miscalibrated() {
            if let Some(c) = g.calibration {
                warned.push(format!(
                    "{} {}: observed/expected {}",
                    safeflag_score::monitor::grouping_words(&t.grouping),
                    g.group,
                    interval(&c)
                ));
            }
        }
    }
    if !warned.is_empty() {
        let _ = writeln!(
            s,
            "\nwarning: calibration within groups is off for {} group(s) (docs/fairness.md):",
            warned.len()
        );
        for w in warned {
            let _ = writeln!(s, "  {w}");
        }
    }
    s
}

/// A name cut to `width` characters (the last one an ellipsis) so a table's
/// columns stay aligned whatever an office or reviewer is called.
pub fn fit(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        name.to_string()
    } else {
        let kept: String = name.chars().take(width.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

/// The human table of the practice measures (`safeflag reviews report`).
pub fn practice_table(m: &PracticeMeasures, review_days: u32, consultation_days: u32) -> String {
    let pct = |n: usize, of: usize| {
        if of == 0 {
            "-".to_string()
        } else {
            format!("{:.0}%", 100.0 * n as f64 / of as f64)
        }
    };
    let mut s = format!(
        "practice measures, nights {} to {}, as of {} ({} business day(s) to review, {} to consult)\n\n",
        m.from, m.to, m.as_of, review_days, consultation_days
    );
    let flag_row = |name: &str, c: &FlagCounts| {
        [
            name.to_string(),
            c.flagged.to_string(),
            c.reviewed.to_string(),
            c.reviewed_on_time.to_string(),
            pct(c.reviewed_on_time, c.flagged - c.pending),
            c.pending.to_string(),
        ]
    };
    let mut rows = vec![flag_row("all offices", &m.flags)];
    rows.extend(m.flags_by_office.iter().map(|(o, c)| flag_row(o, c)));
    s.push_str(&grid(
        &[
            "flagged cases",
            "flagged",
            "reviewed",
            "on time",
            "share",
            "pending",
        ],
        &rows,
    ));
    let c = &m.consultations;
    s.push_str(&format!(
        "\nconsultations: {} reviews, {} with a consultation, {} within the deadline ({})\n",
        c.reviews,
        c.consulted,
        c.within_deadline,
        pct(c.within_deadline, c.consulted)
    ));
    let a = &m.actions;
    s.push_str(&format!(
        "action items: {} in all; {} open ({} overdue), {} done on time, {} done late, {} dropped\n",
        a.total, a.open, a.overdue, a.done_on_time, a.done_late, a.dropped
    ));
    let line = |name: String, c: &OverrideCounts| {
        [
            name,
            c.reviews.to_string(),
            c.overrides.to_string(),
            pct(c.overrides, c.reviews),
        ]
    };
    let mut rows = vec![line("all".into(), &m.overrides)];
    rows.extend(
        m.overrides_by_reviewer
            .iter()
            .map(|(r, c)| line(format!("reviewer {r}"), c)),
    );
    rows.extend(
        m.overrides_by_office
            .iter()
            .map(|(o, c)| line(format!("office {o}"), c)),
    );
    rows.extend(
        m.overrides_by_group
            .iter()
            .map(|(g, c)| line(format!("group {g}"), c)),
    );
    s.push('\n');
    s.push_str(&grid(
        &["overrides", "reviews", "overrides", "share"],
        &rows,
    ));
    let r = &m.second_reviews;
    s.push_str(&format!(
        "\nsecond reviews ({:.0}% of each month's cases): {} sampled, {} reviewed again, same disposition {} ({}), items agreed {} of {} ({}); {} waiting\n",
        100.0 * r.share,
        r.sampled,
        r.second_done,
        r.same_disposition,
        pct(r.same_disposition, r.second_done),
        r.items_agreed,
        r.items_compared,
        pct(r.items_agreed, r.items_compared),
        r.waiting.len()
    ));
    // Item ratings, all offices together (by office and month in --json),
    // and how they moved from one review of a case to the next.
    let items = m.ratings_by_item();
    if !items.is_empty() {
        s.push_str("\nitem ratings (by office and month: --json)\n");
        for (item, ratings) in &items {
            let counts: Vec<String> = ratings.iter().map(|(r, n)| format!("{r} {n}")).collect();
            s.push_str(&format!("  {:<28} {}\n", fit(item, 28), counts.join(", ")));
            if let Some(moves) = m.rating_changes.get(*item) {
                let moves: Vec<String> = moves.iter().map(|(k, n)| format!("{k}: {n}")).collect();
                s.push_str(&format!(
                    "  {:<28} at re-review: {}\n",
                    "",
                    moves.join(", ")
                ));
            }
        }
    }
    s
}

/// A rate with its interval, `12.5% (8.1-18.7)`, or `-` without rows.
fn rate(r: Option<&safeflag_model::metrics::Rate>) -> String {
    match r {
        Some(r) if r.n > 0 => format!(
            "{:.1}% ({:.1}-{:.1})",
            100.0 * r.rate,
            100.0 * r.low,
            100.0 * r.high
        ),
        _ => "-".to_string(),
    }
}

/// The human table of the look back (`safeflag outcomes report`).
pub fn outcomes_table(lb: &safeflag_outcomes::LookBack) -> String {
    let mut s = format!(
        "outcomes ({}) known through {}; window {} days, closed {} days after it ends\n\n",
        lb.kinds.join(", "),
        lb.known_through,
        lb.window_days,
        lb.lag_days
    );
    s.push_str(&format!(
        "{:<11} {:<14} {:>7} {:>6} {:>5} {:<22} {:<22} {:>6} {:>6}\n",
        "night",
        "window",
        "cases",
        "queued",
        "hits",
        "precision (95% CI)",
        "recall (95% CI)",
        "O/E",
        "slope"
    ));
    for n in &lb.nights {
        let window = if n.window.closed {
            "closed".to_string()
        } else {
            format!("open {}/{}d", n.window.known_days, n.window.days)
        };
        let (oe, slope) = match &n.calibration {
            Some(c) => (
                format!("{:.2}", c.ratio),
                c.slope.map_or("-".into(), |v| format!("{v:.2}")),
            ),
            None => ("-".into(), "-".into()),
        };
        s.push_str(&format!(
            "{:<11} {:<14} {:>7} {:>6} {:>5} {:<22} {:<22} {:>6} {:>6}\n",
            n.night,
            window,
            if n.scores {
                n.cases.to_string()
            } else {
                "no file".into()
            },
            n.queued,
            n.queued_with_outcome,
            rate(n.precision.as_ref()),
            rate(n.recall.as_ref()),
            oe,
            slope
        ));
    }
    s.push_str(&format!(
        "\n{:<8} {:<7} {:>8} {:>5} {:<22} {:>9} {:>8} {:>6} {:>6}\n",
        "month",
        "window",
        "flagged",
        "hits",
        "precision (95% CI)",
        "expected",
        "observed",
        "O/E",
        "alert"
    ));
    for m in &lb.months {
        let c = m.calibration.as_ref();
        s.push_str(&format!(
            "{:<8} {:<7} {:>8} {:>5} {:<22} {:>9} {:>8} {:>6} {:>6}\n",
            m.month,
            if m.closed { "closed" } else { "open" },
            m.cases_flagged,
            m.flagged_with_outcome,
            rate(m.precision.as_ref()),
            c.map_or("-".into(), |c| format!("{:.1}", c.expected)),
            c.map_or("-".into(), |c| c.observed.to_string()),
            c.map_or("-".into(), |c| format!("{:.2}", c.ratio)),
            if m.alert { "ALERT" } else { "" }
        ));
    }
    let p = &lb.pooled;
    if p.nights.is_empty() {
        s.push_str("\nno closed month yet: the breakdowns wait for the first closed window\n");
        return s;
    }
    s.push_str(&format!(
        "\npooled over {} closed month(s), each child once a month (the month's first night)\n",
        p.nights.len()
    ));
    for (title, rows) in [
        ("band", &p.by_band),
        ("office", &p.by_office),
        ("race/ethnicity", &p.by_group),
        ("age band", &p.by_age_band),
    ] {
        let rows: Vec<[String; 6]> = rows
            .iter()
            .map(|g| {
                [
                    g.group.clone(),
                    g.children.to_string(),
                    rate(g.flagged.as_ref()),
                    rate(g.not_flagged.as_ref()),
                    rate(g.recall.as_ref()),
                    g.calibration.map_or("-".into(), |c| {
                        format!(
                            "{}{}",
                            safeflag_model::card::interval(&c),
                            if g.miscalibrated { " WARN" } else { "" }
                        )
                    }),
                ]
            })
            .collect();
        s.push('\n');
        s.push_str(&grid(
            &[
                title,
                "children",
                "flagged: outcome rate",
                "not flagged",
                "recall",
                "O/E [95%]",
            ],
            &rows,
        ));
    }
    let off: Vec<String> = [
        ("office", &p.by_office),
        ("race/ethnicity", &p.by_group),
        ("age band", &p.by_age_band),
    ]
    .iter()
    .flat_map(|(title, rows)| {
        rows.iter()
            .filter(|g| g.miscalibrated)
            .map(move |g| format!("{title} {}", g.group))
    })
    .collect();
    if !off.is_empty() {
        s.push_str(&format!(
            "\nwarning: calibration within groups is off for {} (observed/expected interval outside 0.8-1.25; docs/fairness.md)\n",
            off.join(", ")
        ));
    }
    s.push_str(&format!(
        "\nflagged and reviewed: {}; flagged, not reviewed: {}\n",
        rate(p.reviewed.as_ref()),
        rate(p.not_reviewed.as_ref())
    ));
    s.push_str(&format!(
        "last fifth of the queue: {}; as many just below the cut-off: {}\n",
        rate(p.above_cutoff.as_ref()),
        rate(p.below_cutoff.as_ref())
    ));
    s.push_str("\nqueue size (by score alone)  cases  caught  of all\n");
    for q in &p.queue_sizes {
        s.push_str(&format!(
            "{:>4.1} x the queue            {:>6} {:>7} {:>7}\n",
            q.factor, q.cases, q.caught, q.of
        ));
    }
    s
}

/// A text grid from comfy-table: columns as wide as their cells, and when the
/// whole is wider than the terminal (100 columns when stdout is not one, so
/// files and tests see the same text), the widest cells wrap instead of
/// running off the edge.
pub fn grid<const N: usize>(headers: &[&str; N], rows: &[[String; N]]) -> String {
    let mut t = comfy_table::Table::new();
    // No outer border, a rule under the header, bars between columns.
    t.load_preset("     -+ |          ")
        .set_header(headers.to_vec());
    for r in rows {
        t.add_row(r.to_vec());
    }
    // A table that fits is drawn as it is; one that does not wraps, between
    // words only: no column narrower than its longest word.
    let natural: usize = t
        .column_max_content_widths()
        .iter()
        .map(|&w| usize::from(w) + 3)
        .sum();
    let width = width();
    if natural <= usize::from(width) {
        return t.lines().map(|l| format!("{}\n", l.trim_end())).collect();
    }
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_width(width);
    for (j, column) in t.column_iter_mut().enumerate() {
        let longest = std::iter::once(headers[j])
            .chain(rows.iter().map(|r| r[j].as_str()))
            .flat_map(str::split_whitespace)
            .map(|w| w.chars().count())
            .max()
            .unwrap_or(1);
        column.set_constraint(comfy_table::ColumnConstraint::LowerBoundary(
            // The width counts the cell's padding, one space each side.
            comfy_table::Width::Fixed(u16::try_from(longest + 2).unwrap_or(u16::MAX)),
        ));
    }
    t.lines().map(|l| format!("{}\n", l.trim_end())).collect()
}

/// The width tables wrap at: the terminal's when stdout is one, else 100.
fn width() -> u16 {
    const FILE_WIDTH: u16 = 100;
    let term = console::Term::stdout();
    if term.is_term() {
        term.size_checked().map_or(FILE_WIDTH, |(_, w)| w.max(40))
    } else {
        FILE_WIDTH
    }
}

/// The human table of a backtest (`safeflag backtest`).
pub fn backtest_table(b: &safeflag_model::backtest::BacktestRecord) -> String {
    use safeflag_model::backtest::{CANDIDATE_HEADERS, PERIOD_HEADERS};
    let chosen = &b.candidates[b.chosen];
    let mut s = format!(
        "backtest on {}\n{} cut-offs, {} days each; labels: {}-day window, {}-day recording lag; queue {} cases a night; chosen by {} (smallest worst regret)\n\n",
        b.input,
        chosen.periods.len(),
        b.period_days,
        b.window_days,
        b.lag_days,
        b.capacity,
        b.criterion.as_str()
    );
    s.push_str(&grid(&CANDIDATE_HEADERS, &b.candidate_rows()));
    s.push_str(&format!("\n{} by period:\n", chosen.candidate.name));
    s.push_str(&grid(&PERIOD_HEADERS, &b.period_rows()));
    s
}

/// The human table of a model comparison (`safeflag compare`).
pub fn compare_table(c: &safeflag_pipeline::compare::Comparison) -> String {
    let rate = |r: &Option<safeflag_model::metrics::Rate>| {
        r.map_or("-".to_string(), |r| {
            format!("{:.3} [{:.3}, {:.3}]", r.rate, r.low, r.high)
        })
    };
    let corr = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    let mut s = format!(
        "A = {} (in use), B = {}, on {} ({} night(s){})\n\n",
        c.model_a,
        c.model_b,
        c.input,
        c.total.nights,
        if c.labelled { ", with outcomes" } else { "" }
    );
    // Two grids, so each fits a terminal: the queues, then the ranking and
    // precision.
    let queues = [
        "night",
        "cases",
        "queued A",
        "queued B",
        "kept",
        "entered",
        "left",
        "same place",
    ];
    let ranking = [
        "night",
        "rank corr. (all)",
        "rank corr. (queued)",
        "expected A",
        "expected B",
        "realised A",
        "realised B",
    ];
    let mut queue_rows: Vec<[String; 8]> = Vec::new();
    let mut ranking_rows: Vec<[String; 7]> = Vec::new();
    for n in &c.nights {
        let q = &n.queues;
        queue_rows.push([
            n.date.clone(),
            n.cases.to_string(),
            q.queued_a.to_string(),
            q.queued_b.to_string(),
            q.kept.to_string(),
            q.entered.to_string(),
            q.left.to_string(),
            q.same_place.to_string(),
        ]);
        ranking_rows.push([
            n.date.clone(),
            corr(n.rank_correlation_all),
            corr(n.rank_correlation_queued),
            format!("{:.3}", q.expected_precision_a),
            format!("{:.3}", q.expected_precision_b),
            rate(&q.realised_a),
            rate(&q.realised_b),
        ]);
    }
    let t = &c.total.queues;
    queue_rows.push([
        "all".into(),
        String::new(),
        t.queued_a.to_string(),
        t.queued_b.to_string(),
        t.kept.to_string(),
        t.entered.to_string(),
        t.left.to_string(),
        t.same_place.to_string(),
    ]);
    ranking_rows.push([
        "all".into(),
        String::new(),
        String::new(),
        format!("{:.3}", t.expected_precision_a),
        format!("{:.3}", t.expected_precision_b),
        rate(&t.realised_a),
        rate(&t.realised_b),
    ]);
    s.push_str(&grid(&queues, &queue_rows));
    s.push('\n');
    s.push_str(&grid(&ranking, &ranking_rows));
    s.push_str(&format!(
        "\nB less A: expected precision {:+.3}{}\n",
        c.total.expected_difference,
        c.total
            .realised_difference
            .map_or(String::new(), |d| format!(", realised precision {d:+.3}"))
    ));
    for (title, moves) in [("office", &c.by_office), ("race/ethnicity", &c.by_group)] {
        if moves.is_empty() {
            continue;
        }
        s.push_str(&format!(
            "\ncases entering and leaving the queue, by {title}:\n"
        ));
        let rows: Vec<[String; 3]> = moves
            .iter()
            .map(|m| [m.key.clone(), m.entered.to_string(), m.left.to_string()])
            .collect();
        s.push_str(&grid(&[title, "entered", "left"], &rows));
    }
    if c.by_office.is_empty() {
        s.push_str("\nthe two queues hold the same cases every night\n");
    }
    s
}

/// The human table of one child explained (`safeflag explain`).
pub fn explanation_table(e: &safeflag_report::explain::Explanation) -> String {
    use safeflag_report::explain::signed;
    let mut s = String::new();
    let p = |v: f64| format!("{:.1}%", 100.0 * v);
    let _ = writeln!(
        s,
        "child {} (case {}, office {}), snapshot {}, model {}",
        e.child_id,
        e.case_id,
        e.office,
        e.run.snapshot_date.as_deref().unwrap_or("-"),
        e.run.model_id
    );
    let _ = writeln!(
        s,
        "probability {} ({}), band {}, tier {}; log-odds {:.3} = base {:.3} + the contributions below",
        p(e.probability),
        e.likelihood,
        e.band,
        e.tier,
        e.log_odds,
        e.base
    );
    let st = &e.standing;
    let _ = writeln!(
        s,
        "case rank {} of {} (by its highest child, {}); {}",
        st.case_rank, st.cases, st.lead_child_id, st.why
    );
    s.push('\n');
    let rows: Vec<[String; 3]> = e
        .contributions
        .iter()
        .map(|c| [c.label.clone(), c.value.clone(), signed(c.contribution)])
        .collect();
    s.push_str(&grid(&["factor", "this child", "contribution"], &rows));
    s.push('\n');
    if e.what_if.is_empty() {
        s.push_str("what a worker can change: nothing the model reads applies to this child\n");
    } else {
        let rows: Vec<[String; 3]> = e
            .what_if
            .iter()
            .map(|w| {
                [
                    w.action.clone(),
                    p(w.probability),
                    format!("{:+.1} points", 100.0 * w.change),
                ]
            })
            .collect();
        s.push_str(&grid(
            &["what a worker can change", "probability after", "change"],
            &rows,
        ));
    }
    if !e.other_children.is_empty() {
        let others: Vec<String> = e
            .other_children
            .iter()
            .map(|o| format!("{} ({})", o.child_id, p(o.probability)))
            .collect();
        let _ = writeln!(s, "\nother children in the case: {}", others.join("; "));
    }
    s
}

/// The human tables of a run's report (`safeflag report RUN_DIR`).
pub fn report_table(summary: &safeflag_report::Summary) -> String {
    let mut s = String::new();
    let c = &summary.counts;
    let _ = writeln!(
        s,
        "run {}{}\n  model {}{}, input {}",
        summary.run.dir,
        summary
            .run
            .run_id
            .as_deref()
            .map(|r| format!(" (run {r})"))
            .unwrap_or_default(),
        summary.run.model,
        if summary.run.synthetic_model {
            " (synthetic)"
        } else {
            ""
        },
        summary.run.input
    );
    let _ = writeln!(
        s,
        "\ncounts\n  rows read {} = scored {} + quarantined {}  [{}]\n  cases scored {}, queued {}, suppressed after review {}",
        c.rows_read,
        c.rows_scored,
        c.rows_quarantined,
        if c.reconciles {
            "reconciles"
        } else {
            "DOES NOT RECONCILE"
        },
        c.cases_scored,
        c.cases_queued,
        c.cases_suppressed
    );
    s.push_str("\nqueue by office\n");
    let rows: Vec<[String; 6]> = summary
        .offices
        .iter()
        .map(|o| {
            [
                o.office.clone(),
                o.queued.to_string(),
                o.high.to_string(),
                o.medium.to_string(),
                o.low.to_string(),
                o.capacity.map_or("-".to_string(), |c| c.to_string()),
            ]
        })
        .collect();
    s.push_str(&grid(
        &["office", "queued", "high", "medium", "low", "capacity"],
        &rows,
    ));
    let _ = writeln!(s, "\nmost frequent reasons (queued cases)");
    for r in summary.reasons.iter().take(10) {
        let _ = writeln!(s, "  {:>5}  {}", r.cases, r.reason);
    }
    let _ = writeln!(s, "\nquarantine by column and rule");
    if summary.quarantine.is_empty() {
        let _ = writeln!(s, "  none");
    }
    for r in &summary.quarantine {
        let _ = writeln!(s, "  {:>7}  {:<26} {}", r.problems, r.column, r.rule);
    }
    for t in &summary.monitoring.fairness {
        let _ = writeln!(
            s,
            "\nflag rate by {} (children in queued cases; reference {}; * = the ratio's 95% interval lies outside the band; vs score = flagged over a queue by score alone)",
            safeflag_score::monitor::grouping_words(&t.grouping),
            t.reference,
        );
        let rows: Vec<[String; 7]> = t
            .groups
            .iter()
            .map(|g| {
                let mark = if g.outside_band.iter().any(|m| m == "flag_rate") {
                    " *"
                } else {
                    ""
                };
                [
                    g.group.clone(),
                    g.n.to_string(),
                    g.flagged.to_string(),
                    format!("{:.2}%", g.flag_rate * 100.0),
                    format!(
                        "{}{mark}",
                        g.flag_rate_ratio()
                            .map_or("-".into(), |r| format!("{r:.2}"))
                    ),
                    g.mean_predicted
                        .map_or("-".into(), |p| format!("{:.2}%", p * 100.0)),
                    g.flagged_vs_scores
                        .map_or("-".into(), |v| format!("{:.2}", v.ratio)),
                ]
            })
            .collect();
        s.push_str(&grid(
            &[
                "group",
                "n",
                "flagged",
                "rate",
                "ratio",
                "mean risk",
                "vs score",
            ],
            &rows,
        ));
    }
    let _ = writeln!(
        s,
        "\ndrift against training (PSI; warning above {})",
        summary.monitoring.options.psi_warning
    );
    let mut drift: Vec<_> = summary.monitoring.drift.iter().collect();
    drift.sort_by(|a, b| b.psi.total_cmp(&a.psi));
    for d in drift.iter().take(8) {
        let _ = writeln!(
            s,
            "  {:>7.4}  {} ({}){}",
            d.psi,
            if d.label.is_empty() {
                &d.feature
            } else {
                &d.label
            },
            d.feature,
            if d.warn { "  <- drifted" } else { "" }
        );
    }
    let _ = writeln!(s, "\nmissing values (training -> tonight)");
    for m in &summary.monitoring.missing {
        let _ = writeln!(
            s,
            "  {:<26} {:>6.1}% -> {:>5.1}%{}",
            m.column,
            m.training * 100.0,
            m.tonight * 100.0,
            if m.warn { "  <- changed" } else { "" }
        );
    }
    if !summary.suppressed.is_empty() {
        let _ = writeln!(s, "\nsuppressed after a recent review (not queued tonight)");
        for r in &summary.suppressed {
            let _ = writeln!(
                s,
                "  {:<12} {:<14} {:>6.1}%  reviewed {}",
                r.case_id,
                r.office,
                r.probability * 100.0,
                r.reviewed_on
            );
        }
    }
    let _ = writeln!(s, "\nwarnings ({})", summary.monitoring.warnings.len());
    for w in &summary.monitoring.warnings {
        let _ = writeln!(s, "  [{}] {}", w.kind, w.message);
    }
    s
}

/// The model families `train` compared on the same held-out rows.
pub fn families_table(families: &[safeflag_model::FamilyResult]) -> String {
    let rows: Vec<[String; 7]> = families
        .iter()
        .map(|f| {
            [
                f.family.clone(),
                f.settings.clone(),
                format!("{:.4}", f.roc_auc),
                format!("{:.4}", f.average_precision),
                pct(f.precision_top_5),
                format!("{:.5}", f.brier),
                if f.chosen {
                    "kept".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    grid(
        &[
            "family",
            "settings",
            "ROC AUC",
            "avg precision",
            "precision top 5%",
            "Brier",
            "",
        ],
        &rows,
    )
}

/// The model's mean probability against the truth's, by group.
pub fn truth_groups_table(groups: &[safeflag_pipeline::training::TruthGroup]) -> String {
    use safeflag_pipeline::training::{TRUTH_MIN_ROWS, TRUTH_TOLERANCE};
    let rows: Vec<[String; 6]> = groups
        .iter()
        .map(|g| {
            [
                format!("{} {}", g.grouping, g.group),
                g.n.to_string(),
                format!("{:.3}%", 100.0 * g.mean_predicted),
                format!("{:.3}%", 100.0 * g.mean_truth),
                format!("{:.3}", g.ratio),
                match (g.judged, g.within) {
                    (false, _) => "too few".into(),
                    (true, true) => "within".into(),
                    (true, false) => "OFF".into(),
                },
            ]
        })
        .collect();
    let off = groups.iter().filter(|g| g.judged && !g.within).count();
    format!(
        "\nmodel against the truth by group (judged in groups of {} rows or more, within {:.0}%): {} off\n{}",
        TRUTH_MIN_ROWS,
        100.0 * TRUTH_TOLERANCE,
        off,
        grid(
            &["group", "rows", "model mean", "truth mean", "ratio", ""],
            &rows
        )
    )
}
