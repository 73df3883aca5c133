//! A small, deliberately messy CSV: every contract rule broken at known rows,
//! wrapped in every awkward-but-valid form a real extract has.
//!
//! The file is rendered by hand (not by a CSV library) because the point is
//! the exact bytes: a BOM, CRLF line endings, quoted fields holding commas and
//! newlines, codes in odd case with spaces, booleans in four spellings, the
//! missing-value spellings, and an unknown extra column. The list of injected
//! problems is returned too, so a test can check that validation reports
//! exactly those rows and columns and nothing else.

use polars::prelude::*;
use safeflag_core::contract::Rule;

use crate::generate::{SynthParams, generate};

/// A problem deliberately put into the messy file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Injected {
    /// 1-based data row.
    pub row: usize,
    /// Canonical column.
    pub column: &'static str,
    /// The rule broken.
    pub rule: Rule,
}

/// Rows of the messy file.
pub const MESSY_ROWS: usize = 60;

/// `(row, column, replacement, rule)`; a replacement of `None` means the row
/// repeats row 2's key (the duplicate rule), handled separately.
const INJECTIONS: &[(usize, &str, &str, Rule)] = &[
    (3, "case_id", "", Rule::MissingRequired),
    (5, "snapshot_date", "2025-02-30", Rule::BadDate),
    (7, "child_birth_date", "2025-1-5", Rule::BadDate),
    (9, "case_type", "foster_care", Rule::UnknownCode),
    (11, "sleep_environment", "hammock", Rule::UnknownCode),
    (13, "domestic_violence", "sometimes", Rule::BadBool),
    (15, "prior_reports", "-1", Rule::OutOfRange),
    (17, "caregiver_age", "abc", Rule::NotInteger),
    (19, "caregiver_age", "7", Rule::OutOfRange),
    (
        21,
        "child_birth_date",
        "2099-01-01",
        Rule::BirthAfterSnapshot,
    ),
    (25, "office", "NULL", Rule::MissingRequired),
    (25, "child_sex", "Q", Rule::UnknownCode),
    (27, "children_in_home", "0", Rule::OutOfRange),
    (29, "prior_substantiations", "1.5", Rule::NotInteger),
    (31, "prior_reports", " ", Rule::MissingRequired),
    (33, "child_disability", "perhaps", Rule::BadBool),
    (35, "days_since_last_visit", "-3", Rule::OutOfRange),
    (37, "parental_substance_use", "weekly", Rule::UnknownCode),
    (39, "unrelated_adult_in_home", "2", Rule::BadBool),
    (41, "prior_removals", "-2", Rule::OutOfRange),
    (43, "child_id", "n/a", Rule::MissingRequired),
    (45, "supervisor_id", "", Rule::MissingRequired),
    (47, "worker_id", "", Rule::MissingRequired),
];
/// The row that repeats row 2's `(child_id, snapshot_date)`.
const DUPLICATE_ROW: usize = 23;

/// Renders the messy CSV for `seed`; returns its bytes and the injected problems, sorted.
pub fn messy_csv(seed: u64) -> (Vec<u8>, Vec<Injected>) {
    let synth = generate(&SynthParams {
        rows: MESSY_ROWS,
        seed,
        outcome: false,
        ..SynthParams::default()
    });
    let text = synth
        .cases
        .clone()
        .lazy()
        .select([all().as_expr().cast(DataType::String)])
        .collect()
        .expect("every contract column casts to text");
    let names: Vec<String> = text
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let cols: Vec<&StringChunked> = text
        .columns()
        .iter()
        .map(|c| c.str().expect("cast to text"))
        .collect();
    let idx = |name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .expect("contract column")
    };

    let mut out = Vec::new();
    out.extend_from_slice("\u{feff}".as_bytes());
    out.extend_from_slice(names.join(",").as_bytes());
    out.extend_from_slice(b",agency_note\r\n");
    for i in 0..MESSY_ROWS {
        let row = i + 1;
        let mut fields: Vec<String> = cols
            .iter()
            .zip(&names)
            .map(|(c, name)| awkward(name, c.get(i), i))
            .collect();
        if row == DUPLICATE_ROW {
            fields[idx("child_id")] = cols[idx("child_id")].get(1).unwrap_or_default().to_string();
            fields[idx("snapshot_date")] = cols[idx("snapshot_date")]
                .get(1)
                .unwrap_or_default()
                .to_string();
        }
        for (r, column, value, _) in INJECTIONS {
            if *r == row {
                fields[idx(column)] = (*value).to_string();
            }
        }
        fields.push(if i % 6 == 0 {
            "\"called, no answer\nleft message\"".to_string()
        } else {
            "ok".to_string()
        });
        out.extend_from_slice(fields.join(",").as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    let mut injected: Vec<Injected> = INJECTIONS
        .iter()
        .map(|(row, column, _, rule)| Injected {
            row: *row,
            column,
            rule: *rule,
        })
        .collect();
    injected.push(Injected {
        row: DUPLICATE_ROW,
        column: "child_id",
        rule: Rule::DuplicateKey,
    });
    injected.sort();
    (out, injected)
}

/// A valid but awkward spelling of a generated value.
fn awkward(column: &str, value: Option<&str>, i: usize) -> String {
    let Some(v) = value else {
        return ["", "NA", "N/A", "null"][i % 4].to_string();
    };
    match column {
        "case_type" if i % 5 == 1 => format!("  {} ", v.to_uppercase()),
        "sleep_environment" if i % 7 == 2 => format!("{}{}", v[..1].to_uppercase(), &v[1..]),
        "child_sex" if i.is_multiple_of(3) => format!(" {} ", v.to_lowercase()),
        "office" if i % 9 == 4 => format!(" {v} "),
        "domestic_violence" | "child_disability" | "unrelated_adult_in_home" => {
            let yes = v == "true";
            let spellings = if yes {
                ["Y", "TRUE", "yes", "1"]
            } else {
                ["n", "0", "No", "FALSE"]
            };
            spellings[i % 4].to_string()
        }
        _ => v.to_string(),
    }
}
