//! The extract builder against generated worlds and hand-written extracts.

mod timetravel;
mod tiny;
mod world;

use chrono::NaiveDate;
use safeflag_extract::Extract;
use safeflag_synth::{WorldParams, generate_world};

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A generated world as an in-memory extract.
pub fn world(children: usize, years: u32, seed: u64) -> Extract {
    let w = generate_world(&WorldParams {
        children,
        years,
        seed,
        extracted_on: date("2025-12-31"),
        truth: false,
    });
    Extract::from_frames(w.extracted_on, w.tables).unwrap()
}

/// Every table of a read extract reconciles: rows read = valid + quarantined.
pub fn assert_reconciles(x: &Extract) {
    assert_eq!(x.reports.len(), 8);
    for t in &x.reports {
        let r = &t.report;
        assert_eq!(
            r.rows_read,
            r.rows_valid + r.rows_quarantined,
            "{}",
            t.table
        );
    }
}
