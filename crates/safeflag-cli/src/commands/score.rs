//! `safeflag score`: one run of tonight's snapshot into a directory, with no
//! flag history (the nightly job adds it); the run itself is [`super::run`].

use std::path::Path;

use polars::prelude::*;
use safeflag_model::ModelArtifact;
use safeflag_score::{MonitorOptions, QueuePolicy};
use serde_json::Value;

use super::run::{NoHistory, RunSpec, default_prompts, execute};
use super::thousands;
use crate::cli::ScoreArgs;
use crate::exit::ExitStatus;
use crate::printer::Printer;

pub fn run(args: ScoreArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let model = ModelArtifact::load(&args.model)?;
    let spec = RunSpec {
        prompts: args
            .prompts
            .clone()
            .unwrap_or_else(|| default_prompts(&args.model)),
        policy: QueuePolicy {
            top_n: args.top,
            top_fraction: args.top_percent.map(|p| p / 100.0),
            threshold: args.threshold,
            office_capacity: args.office_capacity,
            office_capacities: args.capacity.iter().cloned().collect(),
        }
        .or_default(),
        snapshot: args.snapshot,
        mapping: args.mapping,
        max_quarantine: args.max_quarantine,
        monitor: MonitorOptions {
            psi_warning: args.psi_warning,
            ..MonitorOptions::default()
        },
        out: args.out.clone(),
        progress: !printer.is_quiet(),
    };
    let done = execute(&spec, &model, &mut NoHistory)?;
    if args.json {
        printer.data(&format!(
            "{}\n",
            serde_json::to_string_pretty(&done.manifest)?
        ));
    } else {
        printer.data(&summary(&args.out, &done.manifest, &done.queue)?);
    }
    Ok(ExitStatus::Success)
}

/// The human summary: counts, the queue's head (ids only, no case details), where files are.
fn summary(out: &Path, manifest: &Value, queue: &DataFrame) -> anyhow::Result<String> {
    use std::fmt::Write as _;
    let c = &manifest["counts"];
    let n = |k: &str| thousands(c[k].as_u64().unwrap_or(0) as usize);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scored {} with {}",
        manifest["input"]["path"].as_str().unwrap_or(""),
        manifest["model"]["id"].as_str().unwrap_or("")
    );
    let _ = writeln!(s, "{}", super::run::reconciliation(manifest));
    let _ = writeln!(
        s,
        "  cases scored {}, queued {}",
        n("cases_scored"),
        n("cases_queued")
    );
    let offices = queue.column("office")?.str()?;
    let mut by: std::collections::BTreeMap<&str, usize> = Default::default();
    for o in offices.iter().flatten() {
        *by.entry(o).or_default() += 1;
    }
    let _ = writeln!(
        s,
        "  queued by office: {}",
        by.iter()
            .map(|(o, k)| format!("{o} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let tiers = queue.column("tier")?.str()?;
    let high = tiers.iter().filter(|t| *t == Some("high")).count();
    let _ = writeln!(s, "  queued in the high tier: {high} of {}", queue.height());
    if let Some(w) = manifest["monitoring"]["warnings"].as_array()
        && !w.is_empty()
    {
        let _ = writeln!(s, "  warnings ({}):", w.len());
        for w in w {
            let _ = writeln!(s, "    {}", w["message"].as_str().unwrap_or(""));
        }
    }
    let _ = writeln!(s, "\nqueue: {}", out.join("queue.csv").display());
    let _ = writeln!(
        s,
        "also:  queue.parquet, scores.parquet, scores.arrow, quarantine.csv, manifest.json in {}",
        out.display()
    );
    Ok(s)
}
