//! `safeflag snapshot`: contract snapshots and labelled stacks from a relational extract.

use safeflag_pipeline::extract::{Dates, ExtractSnapshotJson, ExtractSource, snapshot_to_file};
use safeflag_pipeline::{Result, thousands};

use crate::cli::SnapshotArgs;
use crate::printer::Printer;

pub fn run(args: SnapshotArgs, printer: &Printer) -> Result<()> {
    let source = ExtractSource {
        dir: args.extract.clone(),
        mapping: args.mapping.clone(),
        max_quarantine: args.max_quarantine,
    };
    let dates = args.stack.dates().unwrap_or(Dates::AsOf(args.as_of));
    let doc = snapshot_to_file(&source, dates, &args.out, args.quarantine.as_deref())?;
    if args.json {
        printer.json(&doc)?;
    } else {
        printer.data(&summary(&doc));
    }
    Ok(())
}

/// The human summary: what each table gave, what was built and what it lacks. No case data.
fn summary(doc: &ExtractSnapshotJson) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let n = |v: usize| thousands(v as u64);
    let _ = writeln!(
        s,
        "extract {} (extracted on {})",
        doc.extract.display(),
        doc.extracted_on
    );
    let _ = writeln!(
        s,
        "  {:<14} {:>10} {:>10} {:>12}",
        "table", "read", "valid", "quarantined"
    );
    for t in &doc.tables {
        let _ = writeln!(
            s,
            "  {:<14} {:>10} {:>10} {:>12}",
            t.table,
            n(t.rows_read),
            n(t.rows_valid),
            n(t.rows_quarantined)
        );
        for p in &t.problems {
            let _ = writeln!(s, "      {} {}: {} rows", p.column, p.rule, n(p.rows));
        }
    }
    let snapshots: Vec<_> = match (&doc.snapshot, &doc.stack) {
        (Some(one), _) => vec![one.clone()],
        (None, Some(stack)) => stack.snapshots.clone(),
        _ => Vec::new(),
    };
    let _ = writeln!(
        s,
        "  {:<10} {:>8} {:>13} {:>9} {:>11} {:>12} {:>12} {:>11}",
        "as of",
        "children",
        "investigation",
        "in_home",
        "out_of_home",
        "no assessment",
        "no contact",
        "no cg age"
    );
    for b in &snapshots {
        let t = |k: &str| n(b.by_case_type.get(k).copied().unwrap_or(0));
        let _ = writeln!(
            s,
            "  {:<10} {:>8} {:>13} {:>9} {:>11} {:>12} {:>12} {:>11}",
            b.as_of,
            n(b.rows),
            t("investigation"),
            t("in_home"),
            t("out_of_home"),
            n(b.no_assessment),
            n(b.no_contact),
            n(b.no_caregiver_age)
        );
        let left_out = b.children_in_two_cases + b.not_yet_born;
        if left_out > 0 || b.caregiver_age_out_of_range > 0 {
            let _ = writeln!(
                s,
                "             left out: {} in two open cases, {} not yet born; caregiver ages out of range left empty: {}",
                n(b.children_in_two_cases),
                n(b.not_yet_born),
                n(b.caregiver_age_out_of_range)
            );
        }
    }
    if let Some(stack) = &doc.stack {
        let _ = writeln!(
            s,
            "  labels: {} rows, {} with an incident within {} days ({:.2}%); {} date{} ({} rows) left out, their window not closed {} days before the extract date",
            n(stack.rows),
            n(stack.positives),
            stack.window_days,
            stack.positives as f64 * 100.0 / stack.rows.max(1) as f64,
            stack.censored_dates.len(),
            if stack.censored_dates.len() == 1 {
                ""
            } else {
                "s"
            },
            n(stack.censored_rows),
            stack.lag_days
        );
    }
    let _ = write!(
        s,
        "wrote {} rows to {}",
        n(doc.rows_written),
        doc.out.display()
    );
    if let Some(q) = &doc.quarantine_file {
        let _ = write!(s, "; quarantine in {}", q.display());
    }
    s.push('\n');
    s
}
