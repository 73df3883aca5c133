//! `safeflag score`: tonight's snapshot -> validated cases -> scores -> queue,
//! with every file written atomically and a manifest written last.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use polars::prelude::*;
use safeflag_core::output::{sha256_file, write_bytes_atomic};
use safeflag_ingest::{write_frame, write_quarantine};
use safeflag_model::ModelArtifact;
use safeflag_score::{Prompts, QueuePolicy, score};
use serde_json::{Value, json};

use super::thousands;
use crate::cli::ScoreArgs;
use crate::exit::ExitStatus;
use crate::printer::Printer;

/// The files a successful run publishes, besides the manifest.
pub const OUTPUTS: [&str; 5] = [
    "queue.csv",
    "queue.parquet",
    "scores.parquet",
    "scores.arrow",
    "quarantine.csv",
];
/// The manifest, written last.
pub const MANIFEST: &str = "manifest.json";

pub fn run(args: ScoreArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let t0 = Instant::now();
    let mut seconds: Vec<(&str, f64)> = Vec::new();
    let model = ModelArtifact::load(&args.model)?;
    let prompts_path = args
        .prompts
        .clone()
        .unwrap_or_else(|| default_prompts(&args.model));
    let prompts = Prompts::from_path(&prompts_path, &model.content.feature_spec.names())?;
    let policy = QueuePolicy {
        top_n: args.top,
        top_fraction: args.top_percent.map(|p| p / 100.0),
        threshold: args.threshold,
        office_capacity: args.office_capacity,
        office_capacities: args.capacity.iter().cloned().collect(),
    }
    .or_default();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating `{}`", args.out.display()))?;

    let t = Instant::now();
    let validated = super::ingest_mapped(&args.snapshot, args.mapping.as_deref(), false)?;
    let report = &validated.report;
    write_quarantine(&report.quarantine, &args.out.join("quarantine.csv"))?;
    seconds.push(("read+validate", t.elapsed().as_secs_f64()));

    let mut manifest = json!({
        "type": "run_manifest",
        "schema_version": 1,
        "tool_version": env!("CARGO_PKG_VERSION"),
        "model": {"id": model.id(), "sha256": model.sha256, "synthetic": model.content.training.synthetic},
        "input": {"path": args.snapshot, "sha256": sha256_file(&args.snapshot)?, "format": report.format.as_str()},
        "settings": {
            "policy": policy,
            "max_quarantine": args.max_quarantine,
            "prompts": {"path": prompts_path, "sha256": sha256_file(&prompts_path)?},
            "mapping": args.mapping,
        },
        "counts": {
            "rows_read": report.rows_read,
            "rows_valid": report.rows_valid,
            "rows_quarantined": report.rows_quarantined,
        },
    });

    if let Err(gate) = report.check_gate(args.max_quarantine) {
        // Never publish a queue from a broken extract, not even last night's.
        for name in OUTPUTS.iter().filter(|n| **n != "quarantine.csv") {
            let _ = std::fs::remove_file(args.out.join(name));
        }
        manifest["status"] = json!("gate_failed");
        manifest["error"] = json!(gate.to_string());
        manifest["seconds"] = timings(&seconds, t0);
        write_manifest(&args.out, &manifest)?;
        return Err(gate.into());
    }

    let scored = score(&model, &validated.cases, &policy, &prompts)?;
    seconds.extend(scored.seconds);
    let t = Instant::now();
    let mut queue = scored.queue;
    let mut scores = scored.scores;
    // The two large score files are written side by side; each is atomic.
    let mut scores_ipc = scores.clone();
    let (a, b) = rayon::join(
        || write_frame(&mut scores, &args.out.join("scores.parquet")),
        || write_frame(&mut scores_ipc, &args.out.join("scores.arrow")),
    );
    a?;
    b?;
    // The queue last: its presence means the run's score files are complete.
    write_frame(&mut queue, &args.out.join("queue.parquet"))?;
    write_frame(&mut queue, &args.out.join("queue.csv"))?;
    seconds.push(("write", t.elapsed().as_secs_f64()));

    let rows_scored = scores.height();
    anyhow::ensure!(
        report.rows_read == rows_scored + report.rows_quarantined,
        "internal: counts do not reconcile ({} read, {} scored, {} quarantined)",
        report.rows_read,
        rows_scored,
        report.rows_quarantined
    );
    manifest["status"] = json!("ok");
    manifest["counts"]["rows_scored"] = json!(rows_scored);
    manifest["counts"]["cases_scored"] = json!(scored.cases);
    manifest["counts"]["cases_queued"] = json!(queue.height());
    manifest["outputs"] = OUTPUTS
        .iter()
        .map(|name| {
            let path = args.out.join(name);
            Ok(json!({"file": name, "sha256": sha256_file(&path)?}))
        })
        .collect::<std::io::Result<Vec<Value>>>()?
        .into();
    manifest["seconds"] = timings(&seconds, t0);
    write_manifest(&args.out, &manifest)?;

    if args.json {
        printer.data(&format!("{}\n", serde_json::to_string_pretty(&manifest)?));
    } else {
        printer.data(&summary(&args.out, &manifest, &queue)?);
    }
    Ok(ExitStatus::Success)
}

fn default_prompts(model: &Path) -> PathBuf {
    let dir = if model.is_dir() {
        model.to_path_buf()
    } else {
        model.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    dir.parent()
        .map(|p| p.join("coaching-prompts.toml"))
        .unwrap_or_else(|| PathBuf::from("coaching-prompts.toml"))
}

fn timings(seconds: &[(&str, f64)], t0: Instant) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in seconds {
        m.insert((*k).to_string(), json!((v * 1000.0).round() / 1000.0));
    }
    m.insert(
        "total".into(),
        json!((t0.elapsed().as_secs_f64() * 1000.0).round() / 1000.0),
    );
    Value::Object(m)
}

fn write_manifest(out: &Path, manifest: &Value) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(manifest)?;
    bytes.push(b'\n');
    write_bytes_atomic(&out.join(MANIFEST), &bytes)?;
    Ok(())
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
    let _ = writeln!(
        s,
        "  rows read {} = scored {} + quarantined {}",
        n("rows_read"),
        n("rows_scored"),
        n("rows_quarantined")
    );
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
    let _ = writeln!(s, "\nqueue: {}", out.join("queue.csv").display());
    let _ = writeln!(
        s,
        "also:  queue.parquet, scores.parquet, scores.arrow, quarantine.csv, manifest.json in {}",
        out.display()
    );
    Ok(s)
}
