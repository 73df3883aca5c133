//! The run as one self-contained HTML page: inline CSS and SVG, no scripts,
//! no fonts or images to fetch, so it opens from a file or an e-mail
//! attachment on a machine with no network.

use std::fmt::Write as _;

use crate::Summary;
use crate::chart::{Bar, BarOptions, bars, calibration, esc, histogram, pct};

/// The ids of the charts every report has, in page order; `chart-calibration`
/// is drawn only for labelled snapshots (otherwise a note stands in its place).
pub const CHARTS: [&str; 6] = [
    "chart-scores",
    "chart-offices",
    "chart-reasons",
    "chart-fairness",
    "chart-drift",
    "chart-calibration",
];

pub(crate) const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:920px;color:#1d1d1d;line-height:1.4}\
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}\
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}\
td:first-child,th:first-child{text-align:left}th{background:#f3f5f8}.warn{color:#c0392b;font-weight:bold}\
.note{background:#fff7e0;border:1px solid #f0d890;padding:8px 12px;font-size:14px}.ok{color:#2e6b2e}\
svg.chart{display:block;margin:8px 0 16px 0;font-family:inherit}.muted{color:#666;font-size:13px}";

/// Renders the report page.
pub fn render(s: &Summary) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>safeflag run report {}</title><style>{STYLE}</style></head><body>",
        esc(s.run.snapshot_date.as_deref().unwrap_or(""))
    );
    let _ = write!(
        h,
        "<h1>safeflag run report</h1><p class=\"muted\">{} &middot; snapshot {} &middot; model {} &middot; input {}{}</p>",
        esc(&s.run.dir),
        esc(s.run.snapshot_date.as_deref().unwrap_or("-")),
        esc(&s.run.model),
        esc(&s.run.input),
        s.run
            .run_id
            .as_deref()
            .map(|r| format!(" &middot; run {}", esc(r)))
            .unwrap_or_default()
    );
    if s.run.synthetic_model {
        h.push_str("<p class=\"note\">The model was trained on synthetic data: these scores demonstrate the tool and mean nothing about real families.</p>");
    }
    h.push_str("<p class=\"note\">A flag asks for a timely, supportive review of the case; it is not evidence of maltreatment and not a prediction that any child will be harmed.</p>");

    let c = &s.counts;
    let _ = write!(
        h,
        "<h2>Counts</h2><table><tr><th>rows read</th><th>scored</th><th>quarantined</th><th>reconciles</th><th>cases scored</th><th>queued</th><th>suppressed after review</th></tr><tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        c.rows_read,
        c.rows_scored,
        c.rows_quarantined,
        if c.reconciles { "ok" } else { "warn" },
        if c.reconciles { "yes" } else { "NO" },
        c.cases_scored,
        c.cases_queued,
        c.cases_suppressed
    );

    let w = &s.monitoring.warnings;
    let _ = write!(h, "<h2>Warnings ({})</h2>", w.len());
    if w.is_empty() {
        h.push_str("<p class=\"ok\">No drift, missing-value or fairness warnings.</p>");
    } else {
        h.push_str("<ul>");
        for w in w {
            let _ = write!(
                h,
                "<li class=\"warn\">[{}] {}</li>",
                esc(&w.kind),
                esc(&w.message)
            );
        }
        h.push_str("</ul>");
    }

    h.push_str("<h2>Score distribution</h2>");
    h.push_str(&histogram(
        CHARTS[0],
        "Every scored child's probability, with the queue's cut-off",
        &s.scores.edges,
        &s.scores.counts,
        s.scores.cutoff,
    ));

    h.push_str("<h2>Queue by office</h2>");
    let office_bars: Vec<Bar> = s
        .offices
        .iter()
        .map(|o| Bar {
            label: o.office.clone(),
            value: o.queued as f64,
            text: match o.capacity {
                Some(cap) => format!("{} of {cap} ({} high)", o.queued, o.high),
                None => format!("{} ({} high)", o.queued, o.high),
            },
            highlight: o.capacity.is_some_and(|cap| o.queued > cap),
            marker: o.capacity.map(|c| c as f64),
        })
        .collect();
    h.push_str(&bars(
        CHARTS[1],
        "Flagged cases per office against reviewer capacity",
        &office_bars,
        &BarOptions {
            marker_label: Some("capacity".into()),
            ..BarOptions::default()
        },
    ));
    h.push_str("<table><tr><th>office</th><th>queued</th><th>high</th><th>medium</th><th>low</th><th>capacity</th></tr>");
    for o in &s.offices {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&o.office),
            o.queued,
            o.high,
            o.medium,
            o.low,
            o.capacity.map_or("-".into(), |c| c.to_string())
        );
    }
    h.push_str("</table>");

    h.push_str("<h2>Reasons</h2>");
    let reason_bars: Vec<Bar> = s
        .reasons
        .iter()
        .take(15)
        .map(|r| Bar {
            label: r.reason.clone(),
            value: r.cases as f64,
            text: r.cases.to_string(),
            highlight: false,
            marker: None,
        })
        .collect();
    h.push_str(&bars(
        CHARTS[2],
        "How often each reason is among a queued case's top three",
        &reason_bars,
        &BarOptions::default(),
    ));

    h.push_str("<h2>Fairness of tonight's queue</h2>");
    let options = &s.monitoring.options;
    let (lo, hi) = options.fairness_band;
    if let Some(t) = s.fairness(safeflag_core::contract::RACE_ETHNICITY) {
        let fair_bars: Vec<Bar> = t
            .groups
            .iter()
            .map(|g| {
                let r = g.flag_rate_ratio();
                Bar {
                    label: g.group.clone(),
                    value: r.unwrap_or(0.0),
                    text: format!(
                        "{} ({:.2}% of {} children)",
                        r.map_or("-".into(), |r| format!("{r:.2}x")),
                        g.flag_rate * 100.0,
                        g.n
                    ),
                    highlight: r.is_some_and(|r| options.outside_band(r)),
                    marker: None,
                }
            })
            .collect();
        h.push_str(&bars(
            CHARTS[3],
            &format!(
                "Flag rate by race/ethnicity, as a ratio to `{}`",
                t.reference
            ),
            &fair_bars,
            &BarOptions {
                band: Some((lo, hi, format!("{lo}-{hi} band"))),
                line: Some((1.0, "parity".into())),
                ..BarOptions::default()
            },
        ));
    }
    for t in &s.monitoring.fairness {
        let _ = write!(
            h,
            "<table><tr><th>{} (reference {})</th><th>children</th><th>in queued cases</th><th>flag rate</th><th>ratio</th></tr>",
            esc(&t.grouping),
            esc(&t.reference)
        );
        for g in &t.groups {
            let r = g.flag_rate_ratio();
            let out = r.is_some_and(|r| options.outside_band(r));
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}%</td><td class=\"{}\">{}</td></tr>",
                esc(&g.group),
                g.n,
                g.flagged,
                g.flag_rate * 100.0,
                if out { "warn" } else { "" },
                r.map_or("-".into(), |r| format!("{r:.2}"))
            );
        }
        h.push_str("</table>");
    }

    h.push_str("<h2>Drift against the training data</h2>");
    let drift_bars: Vec<Bar> = s
        .monitoring
        .drift
        .iter()
        .map(|d| Bar {
            label: d.feature.clone(),
            value: d.psi,
            text: format!("{:.3}", d.psi),
            highlight: d.warn,
            marker: None,
        })
        .collect();
    h.push_str(&bars(
        CHARTS[4],
        "Population stability index per feature",
        &drift_bars,
        &BarOptions {
            line: Some((
                s.monitoring.options.psi_warning,
                format!("warning {}", s.monitoring.options.psi_warning),
            )),
            ..BarOptions::default()
        },
    ));
    h.push_str(
        "<table><tr><th>column</th><th>missing in training</th><th>missing tonight</th></tr>",
    );
    for m in &s.monitoring.missing {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{:.1}%</td><td class=\"{}\">{:.1}%</td></tr>",
            esc(&m.column),
            m.training * 100.0,
            if m.warn { "warn" } else { "" },
            m.tonight * 100.0
        );
    }
    h.push_str("</table>");

    h.push_str("<h2>Calibration</h2>");
    match &s.calibration {
        Some(bins) => {
            let points: Vec<(f64, f64, usize)> = bins
                .iter()
                .map(|b| (b.mean_predicted, b.observed_rate, b.n))
                .collect();
            h.push_str(&calibration(
                CHARTS[5],
                "Observed outcome rate against predicted probability, by decile",
                &points,
            ));
        }
        None => h.push_str("<p class=\"muted\">The snapshot has no outcome column, so calibration cannot be drawn for this run (it is in the model card).</p>"),
    }

    h.push_str("<h2>Quarantine</h2>");
    if s.quarantine.is_empty() {
        h.push_str("<p class=\"ok\">No row was quarantined.</p>");
    } else {
        h.push_str("<table><tr><th>column</th><th>rule</th><th>problems</th></tr>");
        for q in &s.quarantine {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&q.column),
                esc(&q.rule),
                q.problems
            );
        }
        h.push_str("</table>");
    }

    if let Some(m) = &s.practice {
        practice(&mut h, m);
    }

    if !s.suppressed.is_empty() {
        h.push_str("<h2>Suppressed after a recent review</h2><p class=\"muted\">Reviewed recently with nothing material changed since, so not queued tonight; their places went to the next cases.</p><table><tr><th>case</th><th>office</th><th>probability</th><th>reviewed on</th></tr>");
        for r in &s.suppressed {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.case_id),
                esc(&r.office),
                pct(r.probability),
                esc(&r.reviewed_on)
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</body></html>\n");
    h
}

/// The review practice of the nights before this one.
fn practice(h: &mut String, m: &safeflag_review::measures::PracticeMeasures) {
    let share = |n: usize, of: usize| {
        if of == 0 {
            "-".to_string()
        } else {
            format!("{:.0}%", 100.0 * n as f64 / of as f64)
        }
    };
    let _ = write!(
        h,
        "<h2>Review practice</h2><p class=\"muted\">Cases flagged on the nights {} to {}, as of {}: reviewed, and reviewed by the deadline (business days; pending: not reviewed and not yet late). <code>safeflag reviews report</code> gives more.</p>",
        esc(&m.from),
        esc(&m.to),
        esc(&m.as_of)
    );
    h.push_str("<table><tr><th>office</th><th>flagged</th><th>reviewed</th><th>on time</th><th>share on time</th><th>pending</th></tr>");
    let rows = std::iter::once(("all offices", &m.flags))
        .chain(m.flags_by_office.iter().map(|(o, c)| (o.as_str(), c)));
    for (office, c) in rows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(office),
            c.flagged,
            c.reviewed,
            c.reviewed_on_time,
            share(c.reviewed_on_time, c.flagged - c.pending),
            c.pending
        );
    }
    h.push_str("</table>");
    let (c, a, o) = (&m.consultations, &m.actions, &m.overrides);
    let _ = write!(
        h,
        "<table><tr><th>measure</th><th>count</th></tr>\
         <tr><td>consultations held / within the deadline</td><td>{} / {} ({})</td></tr>\
         <tr><td>action items open / overdue</td><td>{} / {}</td></tr>\
         <tr><td>action items done on time / late / dropped</td><td>{} / {} / {}</td></tr>\
         <tr><td>overrides / reviews</td><td>{} / {} ({})</td></tr>\
         <tr><td>second reviews done / sampled; same disposition</td><td>{} / {}; {} ({})</td></tr></table>",
        c.consulted,
        c.within_deadline,
        share(c.within_deadline, c.consulted),
        a.open,
        a.overdue,
        a.done_on_time,
        a.done_late,
        a.dropped,
        o.overrides,
        o.reviews,
        share(o.overrides, o.reviews),
        m.second_reviews.second_done,
        m.second_reviews.sampled,
        m.second_reviews.same_disposition,
        share(
            m.second_reviews.same_disposition,
            m.second_reviews.second_done
        )
    );
    if !m.overrides_by_group.is_empty() {
        h.push_str("<table><tr><th>group (lead child)</th><th>reviews</th><th>overrides</th><th>share</th></tr>");
        for (g, c) in &m.overrides_by_group {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(g),
                c.reviews,
                c.overrides,
                share(c.overrides, c.reviews)
            );
        }
        h.push_str("</table>");
    }
    // Item ratings over all offices (by office and month in the JSON), and
    // the moves from one review of a case to the next.
    let items = m.ratings_by_item();
    if !items.is_empty() {
        h.push_str("<table><tr><th>item</th><th>ratings</th><th>at re-review</th></tr>");
        for (item, ratings) in &items {
            let counts: Vec<String> = ratings
                .iter()
                .map(|(r, n)| format!("{} {n}", esc(r)))
                .collect();
            let moves: Vec<String> = m
                .rating_changes
                .get(*item)
                .map(|c| c.iter().map(|(k, n)| format!("{} {n}", esc(k))).collect())
                .unwrap_or_default();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(item),
                counts.join(", "),
                moves.join(", ")
            );
        }
        h.push_str("</table>");
    }
}
