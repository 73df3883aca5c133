//! One module per subcommand; each takes its arguments and the printer and
//! returns the exit status.

pub mod evaluate;
pub mod generate;
pub mod modeling;
pub mod nightly;
pub mod report;
pub mod run;
pub mod score;
pub mod train;
pub mod validate;

/// Reads the agency mapping file, if one is given, and ingests `input` with it.
pub fn ingest_mapped(
    input: &std::path::Path,
    mapping: Option<&std::path::Path>,
    require_outcome: bool,
) -> anyhow::Result<safeflag_ingest::Validated> {
    let mapping = mapping
        .map(safeflag_ingest::Mapping::from_path)
        .transpose()?;
    let options = safeflag_ingest::IngestOptions::default()
        .with_mapping(mapping)
        .with_require_outcome(require_outcome);
    Ok(safeflag_ingest::ingest(input, &options)?)
}

/// The earliest and latest `snapshot_date` of validated cases, as `YYYY-MM-DD`.
pub fn snapshot_dates(
    cases: &polars::prelude::DataFrame,
) -> anyhow::Result<(Option<String>, Option<String>)> {
    let dates = cases
        .column("snapshot_date")?
        .as_materialized_series()
        .date()?;
    let days = dates.physical();
    // Polars counts days from 1970-01-01, chrono from 0001-01-01: 719,163 days earlier.
    let iso = |d: Option<i32>| {
        d.and_then(|d| chrono::NaiveDate::from_num_days_from_ce_opt(d + 719_163))
            .map(|d| d.to_string())
    };
    Ok((
        iso(days.iter().flatten().min()),
        iso(days.iter().flatten().max()),
    ))
}

/// `12345` -> `12,345`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_separators() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(1234567), "1,234,567");
    }
}
