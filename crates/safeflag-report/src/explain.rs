//! One scored child explained (`safeflag explain`): what the model saw, how
//! each factor moved the score, where the case stood against tonight's
//! queue, and what a worker could change. The same value is printed as a
//! table, written as JSON and drawn as a small page; the page is written
//! with maud, which escapes every value.

use std::path::PathBuf;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Serialize;

use crate::html::STYLE;

/// How the id on the command line was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    /// A child id: that child is explained.
    Child,
    /// A case id: the case's highest-risk child (its lead) is explained.
    Case,
}

/// Which run the explanation is of.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainedRun {
    /// The run directory.
    pub dir: PathBuf,
    /// The run's id (nightly runs).
    pub run_id: Option<String>,
    /// The snapshot date.
    pub snapshot_date: Option<String>,
    /// The model's id.
    pub model_id: String,
}

/// One feature's part in the score.
#[derive(Debug, Clone, Serialize)]
pub struct Contribution {
    /// The feature's id.
    pub feature: String,
    /// What it means, in plain words.
    pub label: String,
    /// The child's value: `yes`/`no`, or the input number it is computed from.
    pub value: String,
    /// Its contribution to the log-odds (against the base).
    pub contribution: f64,
}

/// Where the child's case stood in tonight's ranking and queue.
#[derive(Debug, Clone, Serialize)]
pub struct Standing {
    /// The case's rank among all cases by its highest child's probability
    /// (1 is the highest; cases that tie share a rank).
    pub case_rank: usize,
    /// Cases scored.
    pub cases: usize,
    /// The lead child of the case (the one the case is ranked by).
    pub lead_child_id: String,
    /// The case's rank in the queue, when queued.
    pub queue_rank: Option<u32>,
    /// Its queue status (`new`, `continuing`, ...), for nightly runs.
    pub status: Option<String>,
    /// Whether a recent review held it out of the queue tonight.
    pub suppressed: bool,
    /// Cases in the queue.
    pub queued: usize,
    /// The lowest probability in the queue.
    pub queue_lowest: Option<f64>,
    /// Cases queued from the child's office.
    pub office_queued: usize,
    /// The office's capacity, if it has one.
    pub office_capacity: Option<usize>,
    /// The lowest probability queued from the child's office.
    pub office_lowest: Option<f64>,
    /// Why it was, or was not, queued, in plain words.
    pub why: String,
}

/// Another child of the same case.
#[derive(Debug, Clone, Serialize)]
pub struct OtherChild {
    /// The child's id.
    pub child_id: String,
    /// Its probability.
    pub probability: f64,
}

/// A change a worker can make, and the score it would give.
#[derive(Debug, Clone, Serialize)]
pub struct WhatIf {
    /// The action, in plain words.
    pub action: String,
    /// The probability after it.
    pub probability: f64,
    /// The change from tonight's probability.
    pub change: f64,
}

/// Everything `safeflag explain` says about one child.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// Always `explanation`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The id asked about.
    pub id: String,
    /// How it was matched.
    pub matched: IdKind,
    /// The run.
    pub run: ExplainedRun,
    /// The child explained.
    pub child_id: String,
    /// Its case.
    pub case_id: String,
    /// Its office.
    pub office: String,
    /// Its calibrated probability, as the run published it.
    pub probability: f64,
    /// The probability in words ("about 12 in 100").
    pub likelihood: String,
    /// Its risk band (1-20).
    pub band: u8,
    /// Its tier.
    pub tier: String,
    /// The model's log-odds before calibration: `base` plus every contribution.
    pub log_odds: f64,
    /// The log-odds every contribution is measured from (the logistic model's
    /// value at the training mean; the trees' expected value).
    pub base: f64,
    /// Every feature's contribution, largest first.
    pub contributions: Vec<Contribution>,
    /// Where the case stood.
    pub standing: Standing,
    /// The case's other children, highest first.
    pub other_children: Vec<OtherChild>,
    /// What a worker can change, the largest fall first.
    pub what_if: Vec<WhatIf>,
}

/// A probability as a percentage with one decimal.
fn percent(p: f64) -> String {
    format!("{:.1}%", 100.0 * p)
}

/// A contribution with its sign.
pub fn signed(v: f64) -> String {
    format!("{v:+.3}")
}

/// Renders the page.
pub fn render(e: &Explanation) -> String {
    let title = format!("safeflag: child {} explained", e.child_id);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (PreEscaped(STYLE)) (PreEscaped(".bar{display:inline-block;height:10px}.up{background:#c0392b}.down{background:#2e6b8a}")) }
            }
            body {
                h1 { "Child " (e.child_id) ", case " (e.case_id) }
                p.muted {
                    "office " (e.office) " · snapshot " (e.run.snapshot_date.as_deref().unwrap_or("-"))
                    " · model " (e.run.model_id) " · run " (e.run.dir.display())
                }
                p.note { "A score asks for a timely, supportive review of the case; it is not evidence of maltreatment and not a prediction that this child will be harmed." }
                h2 { "Score" }
                table {
                    tr { th { "probability" } th { "in words" } th { "band" } th { "tier" } th { "log-odds" } th { "base" } }
                    tr {
                        td { (percent(e.probability)) } td { (e.likelihood) } td { (e.band) } td { (e.tier) }
                        td { (format!("{:.3}", e.log_odds)) } td { (format!("{:.3}", e.base)) }
                    }
                }
                h2 { "Tonight's queue" }
                p { (e.standing.why) }
                (standing(e))
                h2 { "Every factor" }
                p.muted { "Each factor's contribution to the log-odds, measured from the average child the model was trained on (the base); together they add up to the log-odds above. Red raises the score, blue lowers it, so a factor this child does not have can still move the score a little." }
                (factors(e))
                h2 { "What a worker can change" }
                @if e.what_if.is_empty() {
                    p.muted { "No action the model knows of applies to this child (a visit is recent, or the child is past the safe-sleep ages)." }
                } @else {
                    table {
                        tr { th { "action" } th { "probability after" } th { "change" } }
                        @for w in &e.what_if {
                            tr { td { (w.action) } td { (percent(w.probability)) } td { (format!("{:+.1} points", 100.0 * w.change)) } }
                        }
                    }
                }
                @if !e.other_children.is_empty() {
                    h2 { "Other children in the case" }
                    table {
                        tr { th { "child" } th { "probability" } }
                        @for o in &e.other_children {
                            tr { td { (o.child_id) } td { (percent(o.probability)) } }
                        }
                    }
                }
            }
        }
    };
    page.into_string()
}

fn standing(e: &Explanation) -> Markup {
    let s = &e.standing;
    let opt = |p: Option<f64>| p.map_or("-".to_string(), percent);
    html! {
        table {
            tr { th { "case rank" } th { "queue rank" } th { "queued" } th { "queue's lowest" } th { "office queued" } th { "office capacity" } th { "office's lowest" } }
            tr {
                td { (s.case_rank) " of " (s.cases) }
                td { (s.queue_rank.map_or("-".to_string(), |r| r.to_string())) }
                td { (s.queued) }
                td { (opt(s.queue_lowest)) }
                td { (s.office_queued) }
                td { (s.office_capacity.map_or("none".to_string(), |c| c.to_string())) }
                td { (opt(s.office_lowest)) }
            }
        }
    }
}

fn factors(e: &Explanation) -> Markup {
    let widest = e
        .contributions
        .iter()
        .map(|c| c.contribution.abs())
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    html! {
        table {
            tr { th { "factor" } th { "this child" } th { "contribution" } th { "" } }
            @for c in &e.contributions {
                tr {
                    td { (c.label) }
                    td { (c.value) }
                    td { (signed(c.contribution)) }
                    td style="text-align:left;width:160px" {
                        span class=(if c.contribution >= 0.0 { "bar up" } else { "bar down" })
                            style=(format!("width:{:.0}px", 150.0 * c.contribution.abs() / widest)) {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explanation() -> Explanation {
        Explanation {
            kind: "explanation",
            id: "C1".into(),
            matched: IdKind::Case,
            run: ExplainedRun {
                dir: "out/runs/x".into(),
                run_id: None,
                snapshot_date: Some("2025-01-01".into()),
                model_id: "m@1".into(),
            },
            child_id: "<b>K1</b>".into(),
            case_id: "C1".into(),
            office: "=HYPERLINK(\"x\")".into(),
            probability: 0.2,
            likelihood: "about 20 in 100".into(),
            band: 18,
            tier: "high".into(),
            log_odds: -1.0,
            base: -3.0,
            contributions: vec![Contribution {
                feature: "f".into(),
                label: "infant <script>".into(),
                value: "yes".into(),
                contribution: 2.0,
            }],
            standing: Standing {
                case_rank: 3,
                cases: 10,
                lead_child_id: "K1".into(),
                queue_rank: Some(2),
                status: None,
                suppressed: false,
                queued: 5,
                queue_lowest: Some(0.1),
                office_queued: 2,
                office_capacity: Some(2),
                office_lowest: Some(0.15),
                why: "queued at rank 2".into(),
            },
            other_children: vec![],
            what_if: vec![],
        }
    }

    #[test]
    fn the_page_escapes_every_value() {
        let page = render(&explanation());
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("<b>K1</b>"), "{page}");
        assert!(page.contains("&lt;b&gt;K1&lt;/b&gt;"));
        assert!(page.contains("infant &lt;script&gt;"));
    }
}
