//! The floor of a night: polars alone reading the snapshot, nothing else.
//!
//! `night-bench read FILE` reads a Parquet or CSV snapshot with polars' own
//! reader and its defaults (CSV types inferred, as an analyst would read it),
//! materialises every column, and prints the rows, the decoded size of the
//! columns and the seconds. `benches/night.sh` runs it beside `safeflag
//! score` and the pandas + scikit-learn script on the same file, interleaved.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::time::Instant;

use polars::prelude::*;

/// The allocator the `safeflag` binary uses, so the figures are its figures.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = match args.as_slice() {
        [_, mode, path] if mode == "read" => Path::new(path),
        [_, mode, scores, out] if mode == "write" => {
            return write(Path::new(scores), Path::new(out));
        }
        _ => {
            return Err("usage: night-bench read FILE(.parquet|.csv) | write SCORES OUT".into());
        }
    };
    let t = Instant::now();
    let df = match path.extension().and_then(|e| e.to_str()) {
        Some("parquet") => ParquetReader::new(std::fs::File::open(path)?).finish()?,
        Some("csv") => CsvReadOptions::default()
            .with_has_header(true)
            .try_into_reader_with_file_path(Some(path.to_path_buf()))?
            .finish()?,
        _ => return Err(format!("{}: not .parquet or .csv", path.display()).into()),
    };
    let seconds = t.elapsed().as_secs_f64();
    println!(
        "read: {} rows, {} columns, decoded {:.0} MiB, {seconds:.2}s",
        df.height(),
        df.width(),
        df.estimated_size() as f64 / 1048576.0
    );
    Ok(())
}

/// Reads `scores` whole (untimed), then times writing it to `out`.
fn write(scores: &Path, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut df = ParquetReader::new(std::fs::File::open(scores)?).finish()?;
    df.rechunk_mut_par();
    let t = Instant::now();
    let file = std::fs::File::create(out)?;
    ParquetWriter::new(std::io::BufWriter::new(file))
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut df)?;
    println!(
        "write: {} rows, {} columns, {:.2}s",
        df.height(),
        df.width(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
