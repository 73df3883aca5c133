//! The leakage experiment's data: honest and leaky training stacks from one
//! generated extract, and the world's true probability of every row.
//!
//! * `leakage stacks EXTRACT_DIR OUT_DIR TRAIN_FROM TRAIN_TO TEST_FROM TEST_TO EVERY`
//!   writes `honest-train.parquet`, `honest-test.parquet` (built with
//!   knowledge dates, as safeflag does) and `leaky-train.parquet`,
//!   `leaky-test.parquet` (the same dates built with every knowledge date
//!   replaced by the date the thing happened).
//! * `leakage truth HAZARDS STACK OUT` writes `child_id, snapshot_date,
//!   true_probability` for every row of STACK, from the world's hazards
//!   (`safeflag generate --extract ... --truth HAZARDS`).
//! * `leakage truth-at-date HAZARDS STACK OUT`: the same, from the hazard on
//!   the date alone, as if the state stayed as it was for the whole window.
//! * `leakage truth-fair CHILDREN YEARS SEED EXTRACTED_ON FUTURES STACK OUT`:
//!   the same, over FUTURES simulated futures of each family from the date
//!   (`safeflag_synth::fair_probability`; the world's parameters as it was
//!   generated): the ceiling a model of what was known can reach.
//!
//! `benches/leakage.sh` runs the whole experiment with the CLI around it.
#![allow(clippy::print_stdout)]

use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::*;
use safeflag_extract::{LabelOptions, LoadOptions};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn date(s: &str) -> Res<NaiveDate> {
    Ok(NaiveDate::parse_from_str(s, "%Y-%m-%d")?)
}

fn read(path: &Path) -> Res<DataFrame> {
    Ok(ParquetReader::new(std::fs::File::open(path)?).finish()?)
}

fn write(df: &mut DataFrame, path: &Path) -> Res<()> {
    safeflag_ingest::write_frame(df, path)?;
    Ok(())
}

/// Writes `child_id, snapshot_date, true_probability` for the stack's `rows`.
fn write_truth(rows: &DataFrame, p: Vec<f64>, out: &Path) -> Res<()> {
    let mut df = DataFrame::new(
        rows.height(),
        vec![
            rows.column("child_id")?.clone(),
            rows.column("snapshot_date")?.clone(),
            Column::new("true_probability".into(), p),
        ],
    )?;
    write(&mut df, out)
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["stacks", dir, out, train_from, train_to, test_from, test_to, every] => {
            let x = safeflag_extract::load(Path::new(dir), &LoadOptions::default())?;
            let leaky = x.without_knowledge_dates()?;
            let every: u32 = every.parse()?;
            let train = safeflag_extract::dates_every(date(train_from)?, date(train_to)?, every)?;
            let test = safeflag_extract::dates_every(date(test_from)?, date(test_to)?, every)?;
            let out = Path::new(out);
            for (name, extract) in [("honest", &x), ("leaky", &leaky)] {
                for (side, dates) in [("train", &train), ("test", &test)] {
                    let mut s = safeflag_extract::stack(extract, dates, LabelOptions::default())?;
                    println!(
                        "{name}-{side}: {} rows, {} positives, {} dates censored",
                        s.summary.rows,
                        s.summary.positives,
                        s.summary.censored_dates.len()
                    );
                    write(&mut s.frame, &out.join(format!("{name}-{side}.parquet")))?;
                }
            }
        }
        [mode @ ("truth" | "truth-at-date"), hazards, stack, out] => {
            let truth = read(Path::new(hazards))?;
            let rows = read(Path::new(stack))?;
            let kind = if *mode == "truth" {
                safeflag_synth::TruthKind::Path
            } else {
                safeflag_synth::TruthKind::AtDate
            };
            let p = safeflag_synth::true_probability_of(&truth, &rows, 365, kind)?;
            write_truth(&rows, p, Path::new(out))?;
        }
        ["truth-fair", children, years, seed, extracted_on, futures, stack, out] => {
            let rows = read(Path::new(stack))?;
            let params = safeflag_synth::WorldParams {
                children: children.parse()?,
                years: years.parse()?,
                seed: seed.parse()?,
                extracted_on: date(extracted_on)?,
                truth: true,
            };
            let started = std::time::Instant::now();
            let p = safeflag_synth::fair_probability(&params, &rows, 365, futures.parse()?)?;
            println!(
                "fair truth of {} rows over {futures} futures in {:.1}s",
                rows.height(),
                started.elapsed().as_secs_f64()
            );
            write_truth(&rows, p, Path::new(out))?;
        }
        _ => return Err("usage: leakage stacks EXTRACT OUT TRAIN_FROM TRAIN_TO TEST_FROM TEST_TO EVERY | leakage truth[-at-date] HAZARDS STACK OUT | leakage truth-fair CHILDREN YEARS SEED EXTRACTED_ON FUTURES STACK OUT".into()),
    }
    Ok(())
}
