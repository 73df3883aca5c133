//! Writing a frame in the format its file name asks for, atomically.

use std::path::Path;

use polars::prelude::*;

use crate::{Error, InputFormat, Result};

/// Writes `df` to `path` as CSV, Parquet (zstd, row groups of about
/// [`ROW_GROUP_ROWS`] encoded in parallel) or Arrow IPC (LZ4 frames, which
/// every Arrow reader supports: a 5M-row score file is 155 MB instead of
/// 580 MB; one record batch per row group), chosen by the extension, through [`safeflag_core::output::write_atomic`] (owner-only,
/// never half-written). Dates in CSV are ISO `YYYY-MM-DD`, as the contract reads them.
///
/// CSV files are opened by people in spreadsheets, which run a cell that
/// begins with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula;
/// such text values are written with a leading apostrophe
/// ([`neutralise_formulas`]), as OWASP's guidance on CSV injection says.
pub fn write_frame(df: &mut DataFrame, path: &Path) -> Result<()> {
    let format = InputFormat::from_path(path)?;
    let mut safe = match format {
        InputFormat::Csv => neutralise_formulas(df).map_err(Error::internal)?,
        _ => None,
    };
    let df = safe.as_mut().unwrap_or(df);
    safeflag_core::output::write_atomic(path, |w| {
        let res = match format {
            InputFormat::Csv => CsvWriter::new(w).include_header(true).finish(df),
            InputFormat::Parquet => {
                row_groups(df).and_then(|groups| write_parquet(df.schema(), &groups, w))
            }
            InputFormat::Ipc => row_groups(df).and_then(|mut groups| {
                for g in &mut groups {
                    g.rechunk_mut();
                }
                // One record batch per chunk, so per group.
                let mut batches = groups.first().cloned().unwrap_or_else(|| df.clear());
                for g in groups.iter().skip(1) {
                    batches.vstack_mut(g)?;
                }
                IpcWriter::new(w)
                    .with_compression(Some(IpcCompression::LZ4))
                    .finish(&mut batches)
            }),
        };
        res.map_err(std::io::Error::other)
    })
    .map_err(Error::from)
}

/// The first characters that make a spreadsheet read a cell as a formula.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `df` with every text value that begins with one of [`FORMULA_STARTS`]
/// prefixed by an apostrophe, or `None` when no value needs it (the frame is
/// then written as it is). A value that really begins with one of them is
/// therefore written `'=...`; strip one leading apostrophe to read it back.
pub fn neutralise_formulas(df: &DataFrame) -> PolarsResult<Option<DataFrame>> {
    let risky = |v: &str| v.starts_with(FORMULA_STARTS);
    let mut out: Option<DataFrame> = None;
    for column in df.columns() {
        let Ok(text) = column.str() else { continue };
        if !text.iter().flatten().any(risky) {
            continue;
        }
        let safe: StringChunked = text
            .iter()
            .map(|v| {
                v.map(|v| {
                    if risky(v) {
                        format!("'{v}")
                    } else {
                        v.to_string()
                    }
                })
            })
            .collect();
        let frame = out.get_or_insert_with(|| df.clone());
        frame.with_column(safe.with_name(column.name().clone()).into_column())?;
    }
    Ok(out)
}

/// Row groups encoded side by side before the writer compresses and writes
/// them in order: a wave of two is about half a million rows of encoded
/// pages (one group per core here; four held twice the pages for no gain).
const GROUPS_AT_ONCE: usize = 2;

/// Parquet, zstd, with the row groups of each wave encoded in parallel.
/// Polars' own writer encodes a row group's columns side by side but the
/// groups one after another, and `case_id` (a dictionary of about half the
/// rows) is the long pole of every group; across groups there is no such
/// pole. The file is the same, byte for byte, as the one-by-one writer's.
fn write_parquet<W: std::io::Write + Send>(
    schema: &Schema,
    groups: &[DataFrame],
    w: W,
) -> PolarsResult<()> {
    use rayon::prelude::*;
    let writer = ParquetWriter::new(w)
        .with_compression(ParquetCompression::Zstd(None))
        .batched(schema)?;
    for wave in groups.chunks(GROUPS_AT_ONCE) {
        let encoded: Vec<_> = wave
            .par_iter()
            .map(|g| {
                // A group cut from misaligned columns is copied whole here,
                // a wave at a time (one chunk per column: one row group).
                let mut whole;
                let g = if g.max_n_chunks() > 1 {
                    whole = g.clone();
                    whole.rechunk_mut();
                    &whole
                } else {
                    g
                };
                writer
                    .encode_and_compress(g)
                    .collect::<PolarsResult<Vec<_>>>()
            })
            .collect::<PolarsResult<Vec<_>>>()?;
        writer.write_row_groups(encoded.into_iter().flatten().collect())?;
    }
    writer.finish().map(|_| ())
}

/// Rows per Parquet row group and per Arrow IPC record batch.
pub const ROW_GROUP_ROWS: usize = 1 << 18;

/// `df` in row groups of about [`ROW_GROUP_ROWS`] rows, with the bounds
/// polars' Parquet writer gives them (small chunks gathered, large ones
/// split evenly; slices share their buffers). Polars' IPC writer does not
/// cut: it wrote a frame in one piece as one 5M-row record batch, compressed
/// whole in memory.
///
/// Columns whose chunks do not line up (a night's ids in the input's row
/// groups beside its scores in one piece) polars first copies whole into
/// one chunk each, and then cuts evenly. The same even cut is taken here
/// without the copy: each group is a slice, which may hold several chunks
/// and is made whole only when it is written (500 MB of fresh pages at the
/// peak of a 5M-row night otherwise). The bounds are polars' own, so the
/// file is the same byte for byte (tested).
fn row_groups(df: &mut DataFrame) -> PolarsResult<Vec<DataFrame>> {
    let h = df.height();
    if h > 0 && df.should_rechunk() {
        // After the copy polars would hold one chunk of `h` rows: one group
        // below the row-group size, else `h / size` even parts, the last
        // taking the rest.
        let parts = (h / ROW_GROUP_ROWS).max(1);
        let size = h / parts;
        return Ok((0..parts)
            .map(|i| {
                let len = if i + 1 == parts { h - i * size } else { size };
                df.slice((i * size) as i64, len)
            })
            .collect());
    }
    let mut cut = polars::frame::chunk_df_for_writing(df, ROW_GROUP_ROWS)?.into_owned();
    Ok(cut.split_chunks().filter(|g| g.height() > 0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every formula start is neutralised in every text column; numbers,
    /// other text and the Parquet output are untouched.
    #[test]
    fn csv_cells_never_start_a_formula() {
        let dir = tempfile::tempdir().unwrap();
        let mut df = df!(
            "office" => ["=HYPERLINK(\"http://x\",\"y\")", "North", "+cmd|' /C calc'!A0", "@SUM(1)"],
            "worker_id" => ["-2+3", "\tW1", "\rW2", "W3"],
            "n" => [-1i64, 2, 3, 4],
        )
        .unwrap();
        let csv = dir.path().join("q.csv");
        write_frame(&mut df, &csv).unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        let reader = CsvReadOptions::default()
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(csv))
            .unwrap();
        let back = reader.finish().unwrap();
        for name in ["office", "worker_id"] {
            for v in back.column(name).unwrap().str().unwrap().iter().flatten() {
                assert!(!v.starts_with(FORMULA_STARTS), "{name}: {v:?} in {text}");
            }
        }
        assert!(text.contains("'=HYPERLINK"), "{text}");
        assert!(
            text.contains(",-1\n") || text.contains(",-1\r\n"),
            "numbers stay numbers: {text}"
        );
        assert_eq!(
            back.column("office").unwrap().str().unwrap().get(1),
            Some("North")
        );

        let pq = dir.path().join("q.parquet");
        write_frame(&mut df, &pq).unwrap();
        let read = ParquetReader::new(std::fs::File::open(pq).unwrap())
            .finish()
            .unwrap();
        assert!(read.equals(&df), "only CSV is neutralised");
        // A clean frame is written as it is.
        assert!(
            neutralise_formulas(&df.select(["n"]).unwrap())
                .unwrap()
                .is_none()
        );
    }

    /// Columns whose chunks do not line up are cut without copying the whole
    /// frame first, into polars' own row groups: the Parquet file is polars'
    /// own byte for byte, at sizes below, at and well above one group.
    #[test]
    fn misaligned_columns_give_polars_own_file() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            1_000,
            ROW_GROUP_ROWS,
            (GROUPS_AT_ONCE + 2) * ROW_GROUP_ROWS + 1_777,
        ] {
            // The ids in uneven pieces, as a file's row groups give them;
            // the scores in one piece.
            let mut ids =
                StringChunked::from_iter_values("case_id".into(), std::iter::empty::<&str>());
            let mut start = 0;
            for (k, len) in [97_001usize, 250_000, 3, 400_000]
                .iter()
                .cycle()
                .enumerate()
            {
                if start >= n {
                    break;
                }
                let end = (start + len).min(n);
                let piece: StringChunked = (start..end)
                    .map(|i| format!("C{}", (i * 7 + k) / 3))
                    .collect();
                ids.append(&piece).unwrap();
                start = end;
            }
            let p: Vec<f64> = (0..n).map(|i| (i % 1013) as f64 / 1013.0).collect();
            let mut df = DataFrame::new_infer_height(vec![
                ids.into_series().into_column(),
                Column::new("probability".into(), p),
            ])
            .unwrap();
            assert!(n <= 1_000 || df.should_rechunk(), "the case is misaligned");
            let path = dir.path().join(format!("m{n}.parquet"));
            write_frame(&mut df, &path).unwrap();
            let mut polars_file = Vec::new();
            ParquetWriter::new(&mut polars_file)
                .with_compression(ParquetCompression::Zstd(None))
                .with_row_group_size(Some(ROW_GROUP_ROWS))
                .finish(&mut df.clone())
                .unwrap();
            assert!(std::fs::read(&path).unwrap() == polars_file, "{n} rows");
            let back = ParquetReader::new(std::fs::File::open(&path).unwrap())
                .finish()
                .unwrap();
            assert!(back.equals(&df));
        }
    }

    #[test]
    fn a_frame_in_one_piece_is_cut_into_row_groups_without_changing_it() {
        // More groups than one wave encodes at once.
        let n = (GROUPS_AT_ONCE + 2) * ROW_GROUP_ROWS + 1_000;
        let mut df = df!(
            "row" => (0..n as u32).collect::<Vec<_>>(),
            "case_id" => (0..n).map(|i| format!("C{}", i / 2)).collect::<Vec<_>>(),
        )
        .unwrap();
        df.rechunk_mut_par();
        let groups = row_groups(&mut df).unwrap();
        let heights: Vec<usize> = groups.iter().map(DataFrame::height).collect();
        assert_eq!(heights.len(), GROUPS_AT_ONCE + 2);
        assert!(heights.iter().all(|&h| h.abs_diff(ROW_GROUP_ROWS) < 1_000));
        for g in &groups {
            assert_eq!(g.max_n_chunks(), 1);
        }
        let mut whole = df.clear();
        for g in &groups {
            whole.vstack_mut(g).unwrap();
        }
        assert!(whole.equals(&df));
        // The row groups encoded side by side give polars' own file, byte
        // for byte, and it reads back as the frame.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        write_frame(&mut df, &path).unwrap();
        let mut polars_file = Vec::new();
        ParquetWriter::new(&mut polars_file)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut df.clone())
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), polars_file);
        let back = ParquetReader::new(std::fs::File::open(&path).unwrap())
            .finish()
            .unwrap();
        assert!(back.equals(&df));
        // The Arrow IPC file reads back as the frame too.
        let path = dir.path().join("x.arrow");
        write_frame(&mut df, &path).unwrap();
        let back = IpcReader::new(std::fs::File::open(&path).unwrap())
            .finish()
            .unwrap();
        assert!(back.equals(&df));
    }
}
