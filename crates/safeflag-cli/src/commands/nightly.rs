//! `safeflag nightly`: load the config, run the night through the pipeline,
//! print where its outputs are.

use std::fmt::Write as _;

use safeflag_pipeline::night::{Night, run_night};
use safeflag_pipeline::scoring::reconciliation;
use safeflag_pipeline::{Config, Result, thousands};

use crate::cli::NightlyArgs;
use crate::printer::Printer;
use crate::progress::Bar;

pub fn run(args: NightlyArgs, printer: &Printer) -> Result<()> {
    let config = Config::load(&args.config)?;
    let night = run_night(&config, args.date, &Bar::new(!printer.is_quiet()))?;
    printer.data(&summary(&night));
    Ok(())
}

fn summary(night: &Night) -> String {
    let (m, c) = (&night.manifest, &night.manifest.counts);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "nightly run {} for {}: model {}",
        m.run_id.as_deref().unwrap_or(""),
        m.date.as_deref().unwrap_or(""),
        m.model.id
    );
    let _ = writeln!(s, "{}", reconciliation(m));
    let st = night.statuses;
    let _ = writeln!(
        s,
        "  cases scored {}, queued {} ({} new, {} continuing, {} re-flagged), suppressed after review {}",
        thousands(c.cases_scored),
        thousands(c.cases_queued),
        st.new,
        st.continuing,
        st.reflagged,
        thousands(c.cases_suppressed)
    );
    let w = night.summary.monitoring.warnings.len();
    if w > 0 {
        let _ = writeln!(s, "  warnings: {w} (see the report)");
    }
    let _ = writeln!(s, "\nqueue:   {}", night.dir.join("queue.csv").display());
    for (sub, e) in &night.exports {
        let _ = writeln!(
            s,
            "exports: {} ({} files)",
            night.dir.join(sub).display(),
            e.files.len()
        );
    }
    let _ = writeln!(s, "report:  {}", night.dir.join("report.html").display());
    s
}
