//! The extract builder beside its floor: polars alone reading the same tables.
//!
//! `extract-bench MODE DIR` runs one mode per process, so that each has its
//! own peak memory (measured from outside, `/usr/bin/time -v`):
//! * `read`: polars reads every table's Parquet file, nothing else (the floor);
//!   prints the decoded size of the tables.
//! * `load`: safeflag reads and validates the extract (every table, the
//!   checks between tables).
//! * `snapshot`: load, then one snapshot as of the extract date.
//! * `stack`: load, then a 24-date quarterly stack with labels.
//!
//! `benches/extract.sh` runs them on a generated 1,000,000-child extract.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::time::Instant;

use chrono::Days;
use polars::prelude::*;
use safeflag_core::extract_contract::TABLES;
use safeflag_extract::{LabelOptions, LoadOptions};

/// The allocator the `safeflag` binary uses, so the figures are its figures.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (mode, dir) = match args.as_slice() {
        [_, mode, dir] => (mode.as_str(), Path::new(dir)),
        _ => return Err("usage: extract-bench read|load|snapshot|stack DIR".into()),
    };
    let t = Instant::now();
    match mode {
        "read" => {
            let mut bytes = 0usize;
            let mut rows = 0usize;
            for table in TABLES {
                let file = std::fs::File::open(dir.join(format!("{}.parquet", table.name)))?;
                let df = ParquetReader::new(file).finish()?;
                bytes += df.estimated_size();
                rows += df.height();
            }
            println!(
                "read: {rows} rows, decoded {:.0} MiB, {:.2}s",
                bytes as f64 / 1048576.0,
                t.elapsed().as_secs_f64()
            );
        }
        "load" | "snapshot" | "stack" => {
            let x = safeflag_extract::load(dir, &LoadOptions::default())?;
            let loaded = t.elapsed().as_secs_f64();
            let built = Instant::now();
            let rows = match mode {
                "snapshot" => safeflag_extract::snapshot(&x, x.extracted_on)?
                    .frame
                    .height(),
                "stack" => {
                    // 24 quarterly dates ending two years before the extract
                    // date, so that every 365-day window has closed.
                    let last = x.extracted_on - Days::new(365 + 90);
                    let first = last - Days::new(91 * 23);
                    let dates = safeflag_extract::dates_every(first, last, 91)?;
                    assert_eq!(dates.len(), 24);
                    let s = safeflag_extract::stack(&x, &dates, LabelOptions::default())?;
                    assert!(s.summary.censored_dates.is_empty());
                    s.frame.height()
                }
                _ => x.counts().1,
            };
            println!(
                "{mode}: {rows} rows; load {loaded:.2}s, build {:.2}s, total {:.2}s",
                built.elapsed().as_secs_f64(),
                t.elapsed().as_secs_f64()
            );
        }
        _ => return Err(format!("unknown mode `{mode}`").into()),
    }
    Ok(())
}
