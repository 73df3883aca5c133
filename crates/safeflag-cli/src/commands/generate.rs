//! `safeflag generate`: synthetic contract data with a known truth.

use polars::prelude::*;
use safeflag_ingest::{InputFormat, write_frame};
use safeflag_synth::{SynthParams, WorldParams, generate, messy_csv};

use safeflag_pipeline::extract::generate_extract;
use safeflag_pipeline::{Context as _, Error, Result, thousands};

use crate::cli::GenerateArgs;
use crate::printer::Printer;

pub fn run(args: GenerateArgs, printer: &Printer) -> Result<()> {
    if let Some(dir) = &args.extract {
        return run_extract(&args, dir, printer);
    }
    let out = args
        .out
        .clone()
        .ok_or_else(|| Error::input("--out FILE is required"))?;
    if args.messy {
        return run_messy(&args, &out, printer);
    }
    InputFormat::from_path(&out)?;
    if let Some(t) = &args.truth {
        InputFormat::from_path(t)?;
    }
    let params = SynthParams {
        rows: args.rows,
        seed: args.seed,
        snapshots: args.snapshots as usize,
        first_date: args.first_date,
        interval_days: i64::from(args.interval_days),
        outcome: !args.no_outcome,
        world: args.world,
    };
    let started = std::time::Instant::now();
    let mut synth = generate(&params);
    let generated = started.elapsed();
    write_frame(&mut synth.cases, &out)?;
    if let Some(path) = &args.truth {
        write_frame(&mut synth.truth, path)?;
    }
    let cases = synth.cases.column("case_id")?.n_unique()?;
    let prevalence = match synth.cases.column(safeflag_core::contract::OUTCOME) {
        Ok(c) => format!(
            ", outcome prevalence {:.2}%",
            c.as_materialized_series().bool()?.sum().unwrap_or(0) as f64 * 100.0
                / args.rows.max(1) as f64
        ),
        Err(_) => String::new(),
    };
    printer.status(&format!(
        "generated {} rows in {} cases over {} snapshot date(s){prevalence} in {:.2}s, written to {} in {:.2}s total",
        thousands(args.rows as u64),
        thousands(cases as u64),
        args.snapshots,
        generated.as_secs_f64(),
        out.display(),
        started.elapsed().as_secs_f64(),
    ));
    Ok(())
}

fn run_extract(args: &GenerateArgs, dir: &std::path::Path, printer: &Printer) -> Result<()> {
    let params = WorldParams {
        children: args.children,
        years: args.years,
        seed: args.seed,
        extracted_on: args.extracted_on,
        truth: args.truth.is_some(),
    };
    let started = std::time::Instant::now();
    let g = generate_extract(&params, dir, &args.format, args.truth.as_deref())?;
    let tables: Vec<String> = g
        .rows
        .iter()
        .map(|(t, n)| format!("{t} {}", thousands(*n as u64)))
        .collect();
    printer.status(&format!(
        "generated an extract of about {} children over {} year(s), extracted on {}, into {} ({} critical incidents) in {:.2}s, written in {:.2}s total\n  {}",
        thousands(args.children as u64),
        args.years,
        args.extracted_on,
        dir.display(),
        thousands(g.incidents as u64),
        g.generate_seconds,
        started.elapsed().as_secs_f64(),
        tables.join(", ")
    ));
    Ok(())
}

fn run_messy(args: &GenerateArgs, out: &std::path::Path, printer: &Printer) -> Result<()> {
    if InputFormat::from_path(out)? != InputFormat::Csv {
        return Err(Error::input(format!(
            "--messy writes CSV: `{}` must end in `.csv`",
            out.display()
        )));
    }
    let (bytes, injected) = messy_csv(args.seed);
    safeflag_core::output::write_bytes_atomic(out, &bytes)?;
    if let Some(path) = &args.expected {
        let mut df = df!(
            "row" => injected.iter().map(|p| p.row as u32).collect::<Vec<_>>(),
            "column" => injected.iter().map(|p| p.column).collect::<Vec<_>>(),
            "rule" => injected.iter().map(|p| p.rule.as_str()).collect::<Vec<_>>(),
        )?;
        write_frame(&mut df, path).with_context(|| format!("writing `{}`", path.display()))?;
    }
    printer.status(&format!(
        "wrote the messy file {} ({} rows, {} injected problems)",
        out.display(),
        safeflag_synth::messy::MESSY_ROWS,
        injected.len()
    ));
    Ok(())
}
