//! `safeflag export` and `safeflag report`: reading a finished run.

use safeflag_pipeline::Result;
use safeflag_report::{RunDir, Summary};

use crate::cli::{ExportArgs, ReportArgs};
use crate::printer::Printer;

pub fn export(args: ExportArgs, printer: &Printer) -> Result<()> {
    let run = RunDir::open(&args.run_dir)?;
    let instrument = match &args.instrument {
        Some(path) => safeflag_review::Instrument::from_path(path)?,
        None => safeflag_review::Instrument::builtin(),
    };
    let manifest = safeflag_report::export(&run, args.by, args.format, &args.out, &instrument)?;
    if args.json {
        printer.json(&manifest)?;
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
    Ok(())
}

pub fn report(args: ReportArgs, printer: &Printer) -> Result<()> {
    let run = RunDir::open(&args.run_dir)?;
    let summary = Summary::of(&run)?;
    if let Some(path) = &args.html {
        let html = safeflag_report::html::render(&summary);
        safeflag_core::output::write_bytes_atomic(path, html.as_bytes())?;
    }
    if args.json {
        printer.json(&summary)?;
    } else {
        printer.data(&crate::tables::report_table(&summary));
        if let Some(path) = &args.html {
            printer.data(&format!("\nhtml report: {}\n", path.display()));
        }
    }
    Ok(())
}
