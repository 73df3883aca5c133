//! `safeflag export` and `safeflag report`: reading a finished run.

use safeflag_report::{ExportFormat, Recipient, RunDir, Summary};

use crate::cli::{ByChoice, ExportArgs, FormatChoice, ReportArgs};
use crate::exit::ExitStatus;
use crate::printer::Printer;

pub fn export(args: ExportArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let run = RunDir::open(&args.run_dir)?;
    let by = match args.by {
        ByChoice::Office => Recipient::Office,
        ByChoice::Supervisor => Recipient::Supervisor,
    };
    let format = match args.format {
        FormatChoice::Xlsx => ExportFormat::Xlsx,
        FormatChoice::Csv => ExportFormat::Csv,
    };
    let manifest = safeflag_report::export(&run, by, format, &args.out)?;
    if args.json {
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&manifest)?));
    } else {
        let mut s = format!(
            "exported {} queued cases into {} files in {}\n",
            manifest.cases,
            manifest.files.len(),
            args.out.display()
        );
        for f in &manifest.files {
            s.push_str(&format!("  {:<32} {:>4} cases\n", f.file, f.rows));
        }
        printer.data(&s);
    }
    Ok(ExitStatus::Success)
}

pub fn report(args: ReportArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let run = RunDir::open(&args.run_dir)?;
    let summary = Summary::of(&run)?;
    if let Some(path) = &args.html {
        write_html(&summary, path)?;
    }
    if args.json {
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&summary)?));
    } else {
        printer.data(&summary.tables());
        if let Some(path) = &args.html {
            printer.data(&format!("\nhtml report: {}\n", path.display()));
        }
    }
    Ok(ExitStatus::Success)
}

/// Writes the HTML report atomically, owner-only.
pub fn write_html(summary: &Summary, path: &std::path::Path) -> anyhow::Result<()> {
    let html = safeflag_report::html::render(summary);
    safeflag_core::output::write_bytes_atomic(path, html.as_bytes())?;
    Ok(())
}
