//! The look back at past queues as one self-contained HTML page: realised
//! precision and calibration month by month with their intervals, and the
//! pooled breakdowns. Like the run report it has no scripts and fetches
//! nothing; unlike it, it is written with maud, whose templates escape every
//! value by default (the charts are SVG from [`crate::chart`], which escapes
//! its own text).

use maud::{DOCTYPE, Markup, PreEscaped, html};
use safeflag_model::metrics::Rate;
use safeflag_outcomes::{GroupResult, LookBack};

use crate::chart::{Point, SeriesOptions, pct, ratio_label, series};
use crate::html::STYLE;

/// The ids of the page's charts, in page order.
pub const CHARTS: [&str; 2] = ["chart-precision", "chart-calibration"];

/// Renders the page.
pub fn render(lb: &LookBack) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "safeflag: how past queues did (outcomes known through " (lb.known_through) ")" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "How past queues did" }
                p.muted {
                    "outcomes (" (lb.kinds.join(", ")) ") known through " (lb.known_through)
                    " · window " (lb.window_days) " days, counted as closed " (lb.lag_days)
                    " days after it ends · " (lb.nights.len()) " nights"
                }
                p.note {
                    "A month's figures appear only when every night's window has closed: an open window is not read as "
                    "\"no incident\". Precision is the share of flagged cases with a child who had an outcome in the window; "
                    "calibration compares the outcomes the model expected on the month's first night with those that came."
                }
                h2 { "Realised precision of the queue, by month" }
                (PreEscaped(precision_chart(lb)))
                h2 { "Calibration over time (observed / expected)" }
                (PreEscaped(calibration_chart(lb)))
                h2 { "Months" }
                (months(lb))
                h2 { "Pooled over the closed months" }
                p.muted { (lb.pooled.nights.len()) " nights pooled (each closed month's first night)" }
                (pooled(lb))
                details {
                    summary { "Every night" }
                    (nights(lb))
                }
            }
        }
    };
    page.into_string()
}

fn rate(r: &Option<Rate>) -> String {
    r.map_or_else(
        || "-".to_string(),
        |r| {
            format!(
                "{} [{}, {}] ({}/{})",
                pct(r.rate),
                pct(r.low),
                pct(r.high),
                r.hits,
                r.n
            )
        },
    )
}

fn precision_chart(lb: &LookBack) -> String {
    let points: Vec<Point> = lb
        .months
        .iter()
        .map(|m| Point {
            label: m.month.clone(),
            value: m.precision.map(|r| r.rate),
            interval: m.precision.map(|r| (r.low, r.high)),
            alert: false,
            note: match &m.precision {
                Some(r) => format!("{}: {} of {} flagged cases", m.month, r.hits, r.n),
                None => format!("{}: window still open", m.month),
            },
        })
        .collect();
    series(
        CHARTS[0],
        "Flagged cases with an outcome in the window",
        &points,
        &SeriesOptions {
            log: false,
            reference: None,
            y_label: "precision".into(),
            format: pct,
        },
    )
}

fn calibration_chart(lb: &LookBack) -> String {
    let points: Vec<Point> = lb
        .months
        .iter()
        .map(|m| {
            let c = m.calibration.as_ref().filter(|c| c.expected > 0.0);
            Point {
                label: m.month.clone(),
                value: c.map(|c| c.ratio),
                interval: c.map(|c| {
                    let half = 1.959_963_984_540_054 * c.sd;
                    (
                        ((c.observed as f64 - half) / c.expected).max(1e-3),
                        (c.observed as f64 + half) / c.expected,
                    )
                }),
                alert: m.alert,
                note: match c {
                    Some(c) => format!(
                        "{}: {} observed, {:.1} expected, p = {:.3}",
                        m.month, c.observed, c.expected, c.p_value
                    ),
                    None => format!("{}: window still open", m.month),
                },
            }
        })
        .collect();
    series(
        CHARTS[1],
        "Observed over expected outcomes (1 = calibrated)",
        &points,
        &SeriesOptions {
            log: true,
            reference: Some((1.0, "calibrated".into())),
            y_label: "observed / expected".into(),
            format: ratio_label,
        },
    )
}

fn months(lb: &LookBack) -> Markup {
    html! {
        table {
            tr {
                th { "month" } th { "window" } th { "nights" } th { "cases flagged" }
                th { "precision [95% CI]" } th { "O/E" } th { "slope" } th { "p" } th { "alert" }
            }
            @for m in &lb.months {
                tr {
                    td { (m.month) }
                    td { @if m.closed { "closed" } @else { "open" } }
                    td { (m.nights) }
                    td { (m.cases_flagged) }
                    td { (rate(&m.precision)) }
                    @match &m.calibration {
                        Some(c) => {
                            td { (format!("{:.2}", c.ratio)) }
                            td { (c.slope.map_or("-".into(), |s| format!("{s:.2}"))) }
                            td { (format!("{:.3}", c.p_value)) }
                        }
                        None => { td { "-" } td { "-" } td { "-" } }
                    }
                    td.warn { @if m.alert { "off by more than chance" } }
                }
            }
        }
    }
}

fn groups(title: &str, rows: &[GroupResult]) -> Markup {
    html! {
        h3 { (title) }
        table {
            tr {
                th { (title) } th { "children" } th { "outcome rate, flagged" }
                th { "outcome rate, not flagged" } th { "recall" } th { "observed" } th { "expected" } th { "O/E [95%]" }
            }
            @for g in rows {
                tr {
                    td { (g.group) }
                    td { (g.children) }
                    td { (rate(&g.flagged)) }
                    td { (rate(&g.not_flagged)) }
                    td { (rate(&g.recall)) }
                    td { (g.observed) }
                    td { (format!("{:.1}", g.expected)) }
                    td class=(if g.miscalibrated { "warn" } else { "" }) {
                        (g.calibration.map_or("-".into(), |c| safeflag_model::card::interval(&c)))
                        @if g.miscalibrated { " (off)" }
                    }
                }
            }
        }
    }
}

fn pooled(lb: &LookBack) -> Markup {
    let p = &lb.pooled;
    html! {
        (groups("band", &p.by_band))
        (groups("office", &p.by_office))
        (groups("race/ethnicity", &p.by_group))
        (groups("age band", &p.by_age_band))
        h3 { "Reviews, and the cut-off" }
        table {
            tr { th { "flagged cases" } th { "outcome rate [95% CI]" } }
            tr { td { "reviewed in time" } td { (rate(&p.reviewed)) } }
            tr { td { "not reviewed in time" } td { (rate(&p.not_reviewed)) } }
            tr { td { "the last fifth of each queue" } td { (rate(&p.above_cutoff)) } }
            tr { td { "as many cases just below the cut-off" } td { (rate(&p.below_cutoff)) } }
        }
        h3 { "Queues of other sizes (by score alone)" }
        table {
            tr { th { "size" } th { "cases" } th { "with an outcome" } th { "of all with an outcome" } }
            @for q in &p.queue_sizes {
                tr {
                    td { (format!("{}x", q.factor)) }
                    td { (q.cases) }
                    td { (q.caught) }
                    td { (q.of) }
                }
            }
        }
    }
}

fn nights(lb: &LookBack) -> Markup {
    html! {
        table {
            tr {
                th { "night" } th { "model" } th { "window" } th { "cases" } th { "queued" }
                th { "precision [95% CI]" } th { "recall [95% CI]" } th { "O/E" }
            }
            @for n in &lb.nights {
                tr {
                    td { (n.night) }
                    td { (n.model_id) }
                    td {
                        @if n.window.closed { "closed" }
                        @else { "open, " (n.window.known_days) " of " (n.window.days) " days known" }
                    }
                    td { (n.cases) }
                    td { (n.queued) }
                    td { (rate(&n.precision)) }
                    td { (rate(&n.recall)) }
                    td { (n.calibration.as_ref().map_or("-".into(), |c| format!("{:.2}", c.ratio))) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safeflag_model::metrics::{calibration, wilson};
    use safeflag_outcomes::{MonthResult, Pooled};

    fn month(m: &str, closed: bool, alert: bool) -> MonthResult {
        MonthResult {
            month: m.into(),
            closed,
            nights: 30,
            cases_flagged: 40,
            flagged_with_outcome: 4,
            precision: closed.then(|| wilson(4, 40)),
            calibration_night: Some(format!("{m}-01")),
            calibration: closed.then(|| calibration(&[0.1; 40], &[alert; 40])),
            alert,
        }
    }

    #[test]
    fn the_page_escapes_agency_text_and_draws_only_closed_months() {
        let lb = LookBack {
            known_through: "2025-12-31".into(),
            window_days: 365,
            lag_days: 90,
            kinds: vec!["incident".into()],
            nights: Vec::new(),
            months: vec![
                month("2024-01", true, false),
                month("2024-02", true, true),
                month("2025-06", false, false),
            ],
            pooled: Pooled {
                by_office: vec![GroupResult {
                    group: "<script>alert(1)</script>".into(),
                    children: 10,
                    flagged: None,
                    not_flagged: None,
                    recall: None,
                    expected: 1.0,
                    observed: 1,
                    ratio: Some(1.0),
                    calibration: None,
                    miscalibrated: false,
                }],
                ..Pooled::default()
            },
        };
        let page = render(&lb);
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        for id in CHARTS {
            assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
        }
        // Two closed months drawn in each chart; the open one has no point.
        assert_eq!(page.matches(r#"class="point""#).count(), 4);
        // The alerted month is ringed.
        assert_eq!(page.matches("r=\"8\"").count(), 1);
        assert!(page.contains("off by more than chance"));
    }
}
