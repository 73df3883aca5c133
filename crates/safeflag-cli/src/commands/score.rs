//! `safeflag score`: one scoring run of tonight's snapshot into a directory,
//! with no flag history (the nightly job adds it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use safeflag_pipeline::scoring::{NoHistory, Scored, ScoringOptions, reconciliation, score};
use safeflag_pipeline::settings::monitor_options;
use safeflag_pipeline::{Model, Result, thousands};

use crate::cli::ScoreArgs;
use crate::printer::Printer;
use crate::progress::Bar;

pub fn run(args: ScoreArgs, printer: &Printer) -> Result<()> {
    let options = ScoringOptions {
        snapshot: args.snapshot.clone(),
        mapping: args.mapping.clone(),
        prompts: args.prompts.clone(),
        policy: args.queue.policy()?,
        max_quarantine: args.max_quarantine,
        monitor: monitor_options(args.psi_warning)?,
        out: args.out.clone(),
        scores: args.scores.clone(),
        scores_arrow: args.scores_arrow,
    };
    let model = Model::load(&args.model)?;
    let bar = Bar::new(!printer.is_quiet());
    let scored = score(&options, &model, &mut NoHistory, &bar)?;
    if args.json {
        printer.json(&scored.manifest)?;
    } else {
        printer.data(&summary(&args.out, &scored)?);
    }
    Ok(())
}

/// The human summary: counts, the queue's head (ids only, no case details), where files are.
fn summary(out: &Path, scored: &Scored) -> Result<String> {
    let (m, queue) = (&scored.manifest, &scored.queue);
    let mut s = String::new();
    let _ = writeln!(s, "scored {} with {}", m.input.path.display(), m.model.id);
    let _ = writeln!(s, "{}", reconciliation(m));
    let _ = writeln!(
        s,
        "  cases scored {}, queued {}",
        thousands(m.counts.cases_scored),
        thousands(m.counts.cases_queued)
    );
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for o in queue.column("office")?.str()?.iter().flatten() {
        *by.entry(o).or_default() += 1;
    }
    let by: Vec<String> = by.iter().map(|(o, k)| format!("{o} {k}")).collect();
    let _ = writeln!(s, "  queued by office: {}", by.join(", "));
    let tiers = queue.column("tier")?.str()?;
    let high = tiers.iter().filter(|t| *t == Some("high")).count();
    let _ = writeln!(s, "  queued in the high tier: {high} of {}", queue.height());
    let warnings = m
        .monitoring
        .as_ref()
        .map(|c| c.warnings.as_slice())
        .unwrap_or_default();
    if !warnings.is_empty() {
        let _ = writeln!(s, "  warnings ({}):", warnings.len());
        for w in warnings {
            let _ = writeln!(s, "    {}", w.message);
        }
    }
    let _ = writeln!(s, "\nqueue: {}", out.join("queue.csv").display());
    let arrow = if m.outputs.iter().any(|o| o.file == "scores.arrow") {
        " scores.arrow,"
    } else {
        ""
    };
    let _ = writeln!(
        s,
        "also:  queue.parquet, scores.parquet,{arrow} quarantine.csv, manifest.json in {}",
        out.display()
    );
    Ok(s)
}
