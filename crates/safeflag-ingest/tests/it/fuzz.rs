//! A property test (proptest) of CSV ingest over generated records whose
//! text fields hold quotes, commas, CR, LF and non-ASCII text, written either
//! as RFC 4180 says (every field that needs it quoted, quotes doubled) or
//! raw, with LF or CRLF line ends and trailing blank lines:
//!
//! * well-formed files are read, every record once: rows read = records;
//! * any file is either read, with rows read equal to the records the `csv`
//!   crate counts strictly, or refused as an input error (exit 1) naming its
//!   line; never a panic, never an internal error.
//!
//! `cargo test` runs 48 cases; `benches/fuzz-csv.sh SECONDS` runs it for a
//! set time (`SAFEFLAG_FUZZ_SECONDS`), figures in docs/hardening.md.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use safeflag_core::Kinded;
use safeflag_ingest::{IngestOptions, ingest};

use crate::{HEADER, good_row};

/// Text of the bytes that trouble CSV readers, and ordinary ones.
fn nasty_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("\"".to_string()),
        Just("\"\"".to_string()),
        Just(",".to_string()),
        Just("\n".to_string()),
        Just("\r".to_string()),
        Just("\r\n".to_string()),
        Just(" ".to_string()),
        Just("é".to_string()),
        Just("北".to_string()),
        "[A-Za-z0-9]{1,6}",
    ];
    prop::collection::vec(pieces, 0..5).prop_map(|p| p.concat())
}

/// A field as RFC 4180 writes it.
fn quoted(v: &str) -> String {
    if v.contains(['"', ',', '\n', '\r']) || v.starts_with(' ') || v.ends_with(' ') {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// One generated file: records with the office (column 4) and worker
/// (column 6) replaced by nasty text, how it is written, its line end and
/// trailing blank lines.
#[derive(Debug, Clone)]
struct Case {
    fields: Vec<(String, String)>,
    rfc: bool,
    crlf: bool,
    trailing_blanks: usize,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec((nasty_text(), nasty_text()), 1..12),
        any::<bool>(),
        any::<bool>(),
        0usize..3,
    )
        .prop_map(|(fields, rfc, crlf, trailing_blanks)| Case {
            fields,
            rfc,
            crlf,
            trailing_blanks,
        })
}

fn render(c: &Case) -> Vec<u8> {
    let end = if c.crlf { "\r\n" } else { "\n" };
    let mut s = format!("{HEADER}{end}");
    for (i, (office, worker)) in c.fields.iter().enumerate() {
        let mut row: Vec<String> = good_row(i).split(',').map(str::to_string).collect();
        let enc = |v: &str| if c.rfc { quoted(v) } else { v.to_string() };
        row[3] = enc(office);
        row[5] = enc(worker);
        s.push_str(&row.join(","));
        s.push_str(end);
    }
    for _ in 0..c.trailing_blanks {
        s.push_str(end);
    }
    s.into_bytes()
}

/// Records the `csv` crate reads strictly (field counts checked), or None.
fn strict_count(bytes: &[u8]) -> Option<usize> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let mut n = 0;
    for rec in r.byte_records() {
        rec.ok()?;
        n += 1;
    }
    Some(n)
}

fn property(c: Case) -> Result<(), TestCaseError> {
    let bytes = render(&c);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.csv");
    std::fs::write(&path, &bytes).unwrap();
    match ingest(&path, &IngestOptions::default()) {
        Ok(v) => {
            let r = &v.report;
            prop_assert_eq!(r.rows_read, r.rows_valid + r.rows_quarantined);
            prop_assert_eq!(
                Some(r.rows_read),
                strict_count(&bytes),
                "against the csv crate"
            );
            if c.rfc {
                prop_assert_eq!(r.rows_read, c.fields.len(), "every record once");
            }
        }
        Err(e) => {
            prop_assert_eq!(e.kind(), safeflag_core::ErrorKind::Input, "{}", e);
            // A well-formed file is refused only for what the contract
            // cannot take (a text that is not UTF-8 cannot be generated here).
            prop_assert!(!c.rfc, "a well-formed file was refused: {}", e);
            let msg = e.to_string();
            prop_assert!(msg.lines().count() == 1, "{}", msg);
        }
    }
    Ok(())
}

#[test]
fn csv_ingest_reads_every_record_once_or_refuses_by_line() {
    let seconds: u64 = std::env::var("SAFEFLAG_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut cases, mut rounds) = (0u64, 0u64);
    loop {
        let config = Config {
            cases: 48,
            failure_persistence: None,
            ..Config::default()
        };
        // A new random seed every round when running for a set time.
        let mut runner = if seconds > 0 {
            TestRunner::new(config)
        } else {
            TestRunner::new_with_rng(
                config,
                proptest::test_runner::TestRng::deterministic_rng(
                    proptest::test_runner::RngAlgorithm::ChaCha,
                ),
            )
        };
        if let Err(e) = runner.run(&case(), property) {
            panic!("after {cases} cases: {e}");
        }
        cases += 48;
        rounds += 1;
        if Instant::now() >= deadline {
            break;
        }
    }
    if seconds > 0 {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("fuzz-csv: {cases} cases in {rounds} rounds, no failure");
        }
    }
}
