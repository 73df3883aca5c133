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
