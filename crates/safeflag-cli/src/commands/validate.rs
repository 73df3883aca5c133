//! `safeflag validate`: the contract check of one snapshot, with the gate.

use safeflag_ingest::{ValidationReport, write_quarantine};
use safeflag_pipeline::reports::ValidationJson;
use safeflag_pipeline::{Context as _, Result, ingest_mapped, thousands};

use crate::cli::ValidateArgs;
use crate::printer::Printer;

pub fn run(args: ValidateArgs, printer: &Printer) -> Result<()> {
    let validated = ingest_mapped(&args.input, args.mapping.as_deref(), args.require_outcome)?;
    let report = &validated.report;
    if let Some(path) = &args.quarantine {
        write_quarantine(&report.quarantine, path)
            .with_context(|| format!("writing the quarantine to `{}`", path.display()))?;
    }
    if args.json {
        let doc = ValidationJson::of(report, args.max_quarantine, args.quarantine.clone());
        printer.json(&doc)?;
    } else {
        printer.data(&report_table(report, &args));
    }
    report.check_gate(args.max_quarantine)?;
    Ok(())
}

/// The human summary: counts, then problems by column and rule. No case data.
pub fn report_table(report: &ValidationReport, args: &ValidateArgs) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let w = thousands(report.rows_read as u64).len();
    let _ = writeln!(
        s,
        "validated {} ({})",
        report.input.display(),
        report.format.as_str()
    );
    let _ = writeln!(
        s,
        "  rows read         {:>w$}",
        thousands(report.rows_read as u64)
    );
    let _ = writeln!(
        s,
        "  rows valid        {:>w$}",
        thousands(report.rows_valid as u64)
    );
    let _ = writeln!(
        s,
        "  rows quarantined  {:>w$}  ({:.2}% of rows; gate limit {:.2}%: {})",
        thousands(report.rows_quarantined as u64),
        report.quarantined_share() * 100.0,
        args.max_quarantine * 100.0,
        if report.quarantined_share() > args.max_quarantine {
            "FAIL"
        } else {
            "pass"
        },
    );
    if !report.extra_columns.is_empty() {
        let _ = writeln!(
            s,
            "  extra columns carried through: {}",
            report.extra_columns.join(", ")
        );
    }
    if !report.problems.is_empty() {
        let cw = report
            .problems
            .iter()
            .map(|p| p.column.len())
            .max()
            .unwrap_or(6)
            .max(6);
        let rw = report
            .problems
            .iter()
            .map(|p| p.rule.as_str().len())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(s, "\nproblems by column and rule:");
        let _ = writeln!(
            s,
            "  {:<cw$}  {:<rw$}  {:>8}  meaning",
            "column", "rule", "rows"
        );
        for p in &report.problems {
            let _ = writeln!(
                s,
                "  {:<cw$}  {:<rw$}  {:>8}  {}",
                p.column,
                p.rule.as_str(),
                thousands(p.rows as u64),
                p.rule.explain()
            );
        }
    }
    match &args.quarantine {
        Some(path) => {
            let _ = writeln!(s, "\nquarantine written to {}", path.display());
        }
        None if report.rows_quarantined > 0 => {
            let _ = writeln!(
                s,
                "\nuse --quarantine FILE to write the rows with their values"
            );
        }
        None => {}
    }
    s
}
