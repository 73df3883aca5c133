//! The run as one self-contained HTML page: inline CSS and SVG, no scripts,
//! no fonts or images to fetch, so it opens from a file or an e-mail
//! attachment on a machine with no network. Written with maud, whose
//! templates escape every value; the charts are SVG from [`crate::chart`],
//! which escapes its own text.

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use safeflag_review::measures::{PracticeMeasures, QueueNight};

use crate::Summary;
use crate::chart::{
    Bar, BarOptions, Point, SeriesOptions, bars, calibration, histogram, pct, series,
};

/// The ids of the charts every report has, in page order; `chart-calibration`
/// is drawn only for labelled snapshots (otherwise a note stands in its
/// place).
pub const CHARTS: [&str; 6] = [
    "chart-scores",
    "chart-offices",
    "chart-reasons",
    "chart-fairness",
    "chart-drift",
    "chart-calibration",
];

/// The chart of the queue over time, in the nightly job's report only.
pub const QUEUE_CHART: &str = "chart-queue-nights";

/// The pages' shared style. For print: no section starts at the foot of a
/// page, and no chart or table row is split across two.
pub(crate) const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:920px;color:#1d1d1d;line-height:1.4}\
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}\
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}\
td:first-child,th:first-child{text-align:left}th{background:#f3f5f8}.warn{color:#c0392b;font-weight:bold}\
.note{background:#fff7e0;border:1px solid #f0d890;padding:8px 12px;font-size:14px}.ok{color:#2e6b2e}\
svg.chart{display:block;margin:8px 0 16px 0;font-family:inherit;max-width:100%;height:auto}.muted{color:#666;font-size:13px}\
@media print{body{margin:0;max-width:none}h2{break-after:avoid}svg.chart,tr,.note{break-inside:avoid}}";

/// Renders the report page.
pub fn render(s: &Summary) -> String {
    let date = s.run.snapshot_date.as_deref().unwrap_or("-");
    let c = &s.counts;
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "safeflag run report " (date) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "safeflag run report, " (date) }
                p.muted {
                    (s.run.dir) " · snapshot " (date) " · model " (s.run.model) " · input " (s.run.input)
                    @if let Some(r) = &s.run.run_id { " · run " (r) }
                }
                @if s.run.synthetic_model {
                    p.note { "The model was trained on synthetic data: these scores demonstrate the tool and mean nothing about real families." }
                }
                p.note { "A flag asks for a timely, supportive review of the case; it is not evidence of maltreatment and not a prediction that any child will be harmed." }
                h2 { "Counts" }
                table {
                    tr { th { "rows read" } th { "scored" } th { "quarantined" } th { "reconciles" } th { "cases scored" } th { "queued" } th { "suppressed after review" } }
                    tr {
                        td { (c.rows_read) } td { (c.rows_scored) } td { (c.rows_quarantined) }
                        td class=(if c.reconciles { "ok" } else { "warn" }) { (if c.reconciles { "yes" } else { "NO" }) }
                        td { (c.cases_scored) } td { (c.cases_queued) } td { (c.cases_suppressed) }
                    }
                }
                h2 { "Warnings (" (s.monitoring.warnings.len()) ")" }
                @if s.monitoring.warnings.is_empty() {
                    p.ok { "No drift, missing-value or fairness warnings." }
                } @else {
                    ul { @for w in &s.monitoring.warnings { li.warn { "[" (w.kind) "] " (w.message) } } }
                }
                h2 { "Score distribution" }
                (PreEscaped(histogram(
                    CHARTS[0],
                    "Every scored child's probability, with the queue's cut-off",
                    &s.scores.edges,
                    &s.scores.counts,
                    s.scores.cutoff,
                )))
                (offices(s))
                (reasons(s))
                (fairness(s))
                (drift(s))
                h2 { "Calibration" }
                @match &s.calibration {
                    Some(bins) => {
                        @let points: Vec<(f64, f64, usize)> = bins.iter().map(|b| (b.mean_predicted, b.observed_rate, b.n)).collect();
                        (PreEscaped(calibration(CHARTS[5], "Observed outcome rate against predicted probability, by decile", &points)))
                    }
                    None => p.muted { "The snapshot has no outcome column, so calibration cannot be drawn for this run (it is in the model card)." }
                }
                h2 { "Quarantine" }
                @if s.quarantine.is_empty() {
                    p.ok { "No row was quarantined." }
                } @else {
                    table {
                        tr { th { "column" } th { "rule" } th { "problems" } }
                        @for q in &s.quarantine { tr { td { (q.column) } td { (q.rule) } td { (q.problems) } } }
                    }
                }
                @if !s.queue_over_time.is_empty() { (queue_over_time(&s.queue_over_time)) }
                @if let Some(m) = &s.practice { (practice(m)) }
                @if !s.suppressed.is_empty() {
                    h2 { "Suppressed after a recent review" }
                    p.muted { "Reviewed recently with nothing material changed since, so not queued tonight; their places went to the next cases." }
                    table {
                        tr { th { "case" } th { "office" } th { "probability" } th { "reviewed on" } }
                        @for r in &s.suppressed {
                            tr { td { (r.case_id) } td { (r.office) } td { (pct(r.probability)) } td { (r.reviewed_on) } }
                        }
                    }
                }
            }
        }
    };
    let mut out = page.into_string();
    out.push('\n');
    out
}

fn offices(s: &Summary) -> Markup {
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
    html! {
        h2 { "Queue by office" }
        (PreEscaped(bars(
            CHARTS[1],
            "Flagged cases per office against reviewer capacity",
            &office_bars,
            &BarOptions { marker_label: Some("capacity".into()), ..BarOptions::default() },
        )))
        table {
            tr { th { "office" } th { "queued" } th { "high" } th { "medium" } th { "low" } th { "capacity" } }
            @for o in &s.offices {
                tr {
                    td { (o.office) } td { (o.queued) } td { (o.high) } td { (o.medium) } td { (o.low) }
                    td { (o.capacity.map_or("-".into(), |c| c.to_string())) }
                }
            }
        }
    }
}

fn reasons(s: &Summary) -> Markup {
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
    html! {
        h2 { "Reasons" }
        (PreEscaped(bars(
            CHARTS[2],
            "How often each reason is among a queued case's top three",
            &reason_bars,
            &BarOptions::default(),
        )))
    }
}

/// Crossed groups smaller than this are left out of the page's tables
/// (they are in the JSON report).
const CROSSED_MIN_CHILDREN: usize = 100;

fn fairness(s: &Summary) -> Markup {
    let options = &s.monitoring.options;
    let (lo, hi) = options.fairness_band;
    let chart = s
        .fairness(safeflag_core::contract::RACE_ETHNICITY)
        .map(|t| {
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
                        highlight: g.outside_band.iter().any(|m| m == "flag_rate"),
                        marker: None,
                    }
                })
                .collect();
            bars(
                CHARTS[3],
                &format!(
                    "Flag rate by race/ethnicity, as a ratio to {} (log scale; 1 = the same rate)",
                    t.reference
                ),
                &fair_bars,
                &BarOptions {
                    band: Some((lo, hi, format!("{lo}-{hi} band"))),
                    log_ratio: true,
                    ..BarOptions::default()
                },
            )
        })
        .unwrap_or_default();
    html! {
        h2 { "Fairness of tonight's queue" }
        (PreEscaped(chart))
        p.muted {
            "Flag rates follow the scores: a group whose children score higher is flagged more, and with base rates that differ no score can give every group the same flag rate and still mean the same risk for all (docs/fairness.md). "
            "So the ratios are shown with their 95% intervals, beside each group's mean risk; what is warned of is a group flagged clearly more or less often than a queue by score alone would flag it (the last column), which only the queue's rules (office capacity, suppression, re-reviews) can cause. "
            "Whether the scores are right for each group is checked against outcomes: calibration within groups, in the model card and the look back. "
            "Crossed groups of fewer than " (CROSSED_MIN_CHILDREN) " children are in the JSON report only."
        }
        @for t in &s.monitoring.fairness {
            @let reference_risk = t.groups.iter().find(|g| g.group == t.reference).and_then(|g| g.mean_predicted);
            table {
                tr {
                    th { (safeflag_score::monitor::grouping_words(&t.grouping)) " (reference " (t.reference) ")" }
                    th { "children" } th { "in queued cases" } th { "flag rate" } th { "flag-rate ratio [95%]" }
                    th { "mean risk" } th { "risk ratio" } th { "flagged / by score alone [95%]" }
                }
                @for g in t.groups.iter().filter(|g| !t.grouping.contains(" x ") || g.n >= CROSSED_MIN_CHILDREN) {
                    @let clear = !g.outside_band.is_empty();
                    tr {
                        td { (g.group) } td { (g.n) } td { (g.flagged) } td { (format!("{:.2}%", g.flag_rate * 100.0)) }
                        td class=(if clear { "warn" } else { "" }) { (safeflag_model::card::ratio_cell(g, "flag_rate")) }
                        td { (g.mean_predicted.map_or("-".into(), pct)) }
                        td { (match (g.mean_predicted, reference_risk) { (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b), _ => "-".into() }) }
                        td { (g.flagged_vs_scores.map_or("-".into(), |v| safeflag_model::card::interval(&v))) }
                    }
                }
            }
        }
    }
}

/// Features the drift chart shows: those that moved most (every feature is
/// in the JSON report and the manifest).
const DRIFT_BARS: usize = 15;

fn drift(s: &Summary) -> Markup {
    let mut moved: Vec<_> = s.monitoring.drift.iter().collect();
    moved.sort_by(|a, b| {
        b.psi
            .total_cmp(&a.psi)
            .then_with(|| a.feature.cmp(&b.feature))
    });
    let drift_bars: Vec<Bar> = moved
        .iter()
        .take(DRIFT_BARS)
        .map(|d| Bar {
            label: if d.label.is_empty() {
                d.feature.clone()
            } else {
                d.label.clone()
            },
            value: d.psi,
            text: format!("{:.3}", d.psi),
            highlight: d.warn,
            marker: None,
        })
        .collect();
    let warn = s.monitoring.options.psi_warning;
    html! {
        h2 { "Drift against the training data" }
        (PreEscaped(bars(
            CHARTS[4],
            &format!(
                "Population stability index: the {} of {} features that moved most",
                drift_bars.len(),
                s.monitoring.drift.len()
            ),
            &drift_bars,
            &BarOptions { line: Some((warn, format!("warning {warn}"))), ..BarOptions::default() },
        )))
        table {
            tr { th { "column" } th { "missing in training" } th { "missing tonight" } }
            @for m in &s.monitoring.missing {
                tr {
                    td { (m.column) } td { (format!("{:.1}%", m.training * 100.0)) }
                    td class=(if m.warn { "warn" } else { "" }) { (format!("{:.1}%", m.tonight * 100.0)) }
                }
            }
        }
    }
}

/// The queue, new and continuing cases, re-flags and suppressions per
/// night, in all and by office.
fn queue_over_time(nights: &[QueueNight]) -> Markup {
    let mut total: BTreeMap<&str, QueueNight> = BTreeMap::new();
    let mut offices: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for n in nights {
        total.entry(n.night.as_str()).or_default().absorb(n);
        *offices
            .entry(n.office.as_str())
            .or_default()
            .entry(n.night.as_str())
            .or_default() += n.queued;
    }
    let points: Vec<Point> = total
        .iter()
        .map(|(night, t)| Point {
            label: night.to_string(),
            value: Some(t.queued as f64),
            interval: None,
            alert: false,
            note: format!("{} queued, {} new", t.queued, t.new),
        })
        .collect();
    let chart = series(
        QUEUE_CHART,
        "Cases queued per night",
        &points,
        &SeriesOptions {
            log: false,
            reference: None,
            y_label: "cases".into(),
            format: |v| format!("{v:.0}"),
        },
    );
    html! {
        h2 { "Queue over time" }
        p.muted { "Each night's queue from the flag history: cases flagged for the first time (new), flagged the night before too (continuing), flagged again after a gap (re-flagged), queued because a re-review fell due, and cases a recent review held out (suppressed)." }
        (PreEscaped(chart))
        table {
            tr { th { "night" } th { "queued" } th { "new" } th { "continuing" } th { "re-flagged" } th { "re-review" } th { "suppressed" } }
            @for (night, t) in &total {
                tr {
                    td { (night) } td { (t.queued) } td { (t.new) } td { (t.continuing) }
                    td { (t.re_flagged) } td { (t.re_review) } td { (t.suppressed) }
                }
            }
        }
        table {
            tr { th { "office: queued per night" } @for night in total.keys() { th { (night.get(5..).unwrap_or(night)) } } }
            @for (office, by_night) in &offices {
                tr {
                    td { (office) }
                    @for night in total.keys() { td { (by_night.get(night).copied().unwrap_or(0)) } }
                }
            }
        }
    }
}

/// The review practice of the nights before this one.
fn practice(m: &PracticeMeasures) -> Markup {
    let share = |n: usize, of: usize| {
        if of == 0 {
            "-".to_string()
        } else {
            format!("{:.0}%", 100.0 * n as f64 / of as f64)
        }
    };
    let rows: Vec<(&str, &safeflag_review::measures::FlagCounts)> =
        std::iter::once(("all offices", &m.flags))
            .chain(m.flags_by_office.iter().map(|(o, c)| (o.as_str(), c)))
            .collect();
    let (c, a, o, r) = (
        &m.consultations,
        &m.actions,
        &m.overrides,
        &m.second_reviews,
    );
    let items = m.ratings_by_item();
    html! {
        h2 { "Review practice" }
        p.muted {
            "Cases flagged on the nights " (m.from) " to " (m.to) ", as of " (m.as_of)
            ": reviewed, and reviewed by the deadline (business days; pending: not reviewed and not yet late). "
            "The command safeflag reviews report gives more."
        }
        table {
            tr { th { "office" } th { "flagged" } th { "reviewed" } th { "on time" } th { "share on time" } th { "pending" } }
            @for (office, c) in &rows {
                tr {
                    td { (office) } td { (c.flagged) } td { (c.reviewed) } td { (c.reviewed_on_time) }
                    td { (share(c.reviewed_on_time, c.flagged - c.pending)) } td { (c.pending) }
                }
            }
        }
        table {
            tr { th { "measure" } th { "count" } }
            tr { td { "consultations held / within the deadline" } td { (c.consulted) " / " (c.within_deadline) " (" (share(c.within_deadline, c.consulted)) ")" } }
            tr { td { "action items open / overdue" } td { (a.open) " / " (a.overdue) } }
            tr { td { "action items done on time / late / dropped" } td { (a.done_on_time) " / " (a.done_late) " / " (a.dropped) } }
            tr { td { "overrides / reviews" } td { (o.overrides) " / " (o.reviews) " (" (share(o.overrides, o.reviews)) ")" } }
            tr { td { "second reviews done / sampled; same disposition" } td { (r.second_done) " / " (r.sampled) "; " (r.same_disposition) " (" (share(r.same_disposition, r.second_done)) ")" } }
        }
        @if !m.overrides_by_group.is_empty() {
            table {
                tr { th { "group (lead child)" } th { "reviews" } th { "overrides" } th { "share" } }
                @for (g, c) in &m.overrides_by_group {
                    tr { td { (g) } td { (c.reviews) } td { (c.overrides) } td { (share(c.overrides, c.reviews)) } }
                }
            }
        }
        // Item ratings over all offices (by office and month in the JSON),
        // and the moves from one review of a case to the next.
        @if !items.is_empty() {
            table {
                tr { th { "item" } th { "ratings" } th { "at re-review" } }
                @for (item, ratings) in &items {
                    @let counts: Vec<String> = ratings.iter().map(|(r, n)| format!("{r} {n}")).collect();
                    @let moves: Vec<String> = m.rating_changes.get(*item).map(|c| c.iter().map(|(k, n)| format!("{k} {n}")).collect()).unwrap_or_default();
                    tr { td { (item) } td { (counts.join(", ")) } td { (moves.join(", ")) } }
                }
            }
        }
    }
}
