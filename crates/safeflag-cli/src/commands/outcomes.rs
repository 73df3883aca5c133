//! The outcomes commands: `outcomes import` (a file or an extract) and
//! `outcomes report` (the look back at past queues).

use safeflag_pipeline::outcomes::{ReportSettings, import_outcomes, outcomes_report};
use safeflag_pipeline::{Config, Result};

use crate::cli::{OutcomesImportArgs, OutcomesReportArgs};
use crate::printer::Printer;

pub fn import(args: OutcomesImportArgs, printer: &Printer) -> Result<()> {
    let cfg = Config::load(&args.config)?;
    let done = import_outcomes(&cfg, &args.source, args.known_through)?;
    if args.json {
        return printer.json(&done);
    }
    let i = &done.import;
    printer.data(&format!(
        "recorded {} outcomes from {} into {}: {} new, {} changed, {} unchanged\n  known through {} (the history's outcomes: through {})\n",
        done.rows,
        done.source,
        cfg.history.store.display(),
        i.new,
        i.changed,
        i.unchanged,
        i.known_through,
        i.store_known_through
    ));
    Ok(())
}

pub fn report(args: OutcomesReportArgs, printer: &Printer) -> Result<()> {
    let cfg = Config::load(&args.config)?;
    let settings = ReportSettings {
        from: args.from,
        to: args.to,
        window_days: args.window,
        lag_days: args.lag,
        kinds: args.kinds,
        reviewed_within_days: args.reviewed_within,
    };
    let lb = outcomes_report(&cfg, &settings)?;
    if let Some(path) = &args.csv {
        safeflag_pipeline::outcomes::write_monthly_csv(&lb, path)?;
    }
    if let Some(path) = &args.html {
        safeflag_pipeline::outcomes::write_html(&lb, path)?;
    }
    if args.json {
        return printer.json(&lb);
    }
    printer.data(&crate::tables::outcomes_table(&lb));
    Ok(())
}
