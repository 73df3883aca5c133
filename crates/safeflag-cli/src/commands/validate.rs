//! `safeflag validate`: the contract check of one snapshot, with the gate.

use anyhow::Context;
use safeflag_ingest::{ValidationReport, write_quarantine};
use serde_json::json;

use super::{ingest_mapped, thousands};
use crate::cli::ValidateArgs;
use crate::exit::ExitStatus;
use crate::printer::Printer;

pub fn run(args: ValidateArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let validated = ingest_mapped(&args.input, args.mapping.as_deref(), args.require_outcome)?;
    let report = &validated.report;
    if let Some(path) = &args.quarantine {
        write_quarantine(&report.quarantine, path)
            .with_context(|| format!("writing the quarantine to `{}`", path.display()))?;
    }
    let gate = report.check_gate(args.max_quarantine);
    if args.json {
        printer.data(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report_json(report, &args, gate.is_ok()))?
        ));
    } else {
        printer.data(&report_table(report, &args));
    }
    gate?;
    Ok(ExitStatus::Success)
}

/// The JSON report; its schema is documented in docs/cli.md.
pub fn report_json(
    report: &ValidationReport,
    args: &ValidateArgs,
    gate_pass: bool,
) -> serde_json::Value {
    json!({
        "type": "validation",
        "schema_version": 1,
        "input": report.input,
        "format": report.format.as_str(),
        "rows_read": report.rows_read,
        "rows_valid": report.rows_valid,
        "rows_quarantined": report.rows_quarantined,
        "quarantined_share": report.quarantined_share(),
        "max_quarantine": args.max_quarantine,
        "gate": if gate_pass { "pass" } else { "fail" },
        "problems": report.problems.iter().map(|p| json!({
            "column": p.column,
            "rule": p.rule.as_str(),
            "rows": p.rows,
        })).collect::<Vec<_>>(),
        "extra_columns": report.extra_columns,
        "quarantine_file": args.quarantine,
    })
}

/// The human summary: counts, then problems by column and rule. No case data.
pub fn report_table(report: &ValidationReport, args: &ValidateArgs) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let w = thousands(report.rows_read).len();
    let _ = writeln!(
        s,
        "validated {} ({})",
        report.input.display(),
        report.format.as_str()
    );
    let _ = writeln!(s, "  rows read         {:>w$}", thousands(report.rows_read));
    let _ = writeln!(
        s,
        "  rows valid        {:>w$}",
        thousands(report.rows_valid)
    );
    let _ = writeln!(
        s,
        "  rows quarantined  {:>w$}  ({:.2}% of rows; gate limit {:.2}%: {})",
        thousands(report.rows_quarantined),
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
                thousands(p.rows),
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
