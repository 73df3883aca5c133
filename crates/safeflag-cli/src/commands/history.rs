//! The history commands: `runs` and `history CASE`.

use safeflag_pipeline::night::{case_history, runs as recorded_runs};
use safeflag_pipeline::reports::{CaseHistoryJson, RunsJson};
use safeflag_pipeline::{Config, Result};

use crate::cli::{HistoryArgs, RunsArgs};
use crate::printer::Printer;

pub fn runs(args: RunsArgs, printer: &Printer) -> Result<()> {
    let cfg = Config::load(&args.config)?;
    let runs = recorded_runs(&cfg)?;
    if args.json {
        return printer.json(&RunsJson::of(runs));
    }
    let mut s = format!(
        "{:<10} {:<24} {:<11} {:>9} {:>9} {:>7} {:>6} {:>10}\n",
        "date", "run", "status", "rows", "quarant.", "cases", "queued", "suppressed"
    );
    for r in &runs {
        s.push_str(&format!(
            "{:<10} {:<24} {:<11} {:>9} {:>9} {:>7} {:>6} {:>10}\n",
            r.run_date,
            r.run_id,
            r.status,
            r.rows_read,
            r.rows_quarantined,
            r.cases_scored,
            r.cases_queued,
            r.cases_suppressed
        ));
    }
    if runs.is_empty() {
        s.push_str("(no runs yet)\n");
    }
    printer.data(&s);
    Ok(())
}

pub fn history(args: HistoryArgs, printer: &Printer) -> Result<()> {
    let cfg = Config::load(&args.config)?;
    let h = case_history(&cfg, &args.case_id)?;
    if args.json {
        return printer.json(&CaseHistoryJson::of(&args.case_id, h));
    }
    let safeflag_history::store::CaseHistory {
        flags,
        suppressed,
        reviews,
    } = h;
    let mut s = format!("case {}\n", args.case_id);
    section(&mut s, "flags", "never queued", &flags, |f| {
        format!(
            "{}  rank {:>3}  {:>5.1}%  band {:>2} {:<6}  {:<10} {}{}",
            f.run_date,
            f.rank,
            f.probability * 100.0,
            f.band,
            f.tier,
            f.status,
            f.reasons,
            if f.changes.is_empty() {
                String::new()
            } else {
                format!("  [{}]", f.changes)
            }
        )
    });
    section(
        &mut s,
        "suppressed after review",
        "none",
        &suppressed,
        |(d, r)| {
            format!(
                "{d}  {:>5.1}%  reviewed {}",
                r.probability * 100.0,
                r.reviewed_on
            )
        },
    );
    section(&mut s, "reviews", "none", &reviews, |r| {
        format!(
            "{}  {:<12} {:<12} {}",
            r.review_date,
            r.reviewer,
            r.outcome,
            r.override_reason.as_deref().unwrap_or("")
        )
    });
    printer.data(&s);
    Ok(())
}

/// A titled list of lines, or `empty` when there are none.
fn section<T>(s: &mut String, title: &str, empty: &str, items: &[T], line: impl Fn(&T) -> String) {
    s.push_str(&format!("\n{title}\n"));
    if items.is_empty() {
        s.push_str(&format!("  {empty}\n"));
    }
    for item in items {
        s.push_str(&format!("  {}\n", line(item)));
    }
}
