//! Cutting an event table to the rows of a few keys: tonight's open cases,
//! or their children.
//!
//! Every snapshot first keeps only the event rows of the cases open on its
//! date (thousands of cases, against millions of rows), so its joins and
//! group-bys stay small. One snapshot looks the keys up in a hash set of
//! the wanted keys. A stack builds an [`Index`] once: every key of every
//! table as a small integer, so each date's cut is a lookup in a bit table
//! instead of hashing and comparing millions of strings again.

use std::collections::HashMap;

use polars::prelude::*;
use safeflag_core::keys::KnownKeys;

use crate::Result;
use crate::load::Extract;

/// The columns a cut is made on, and whether each holds case or person ids.
const COLUMNS: [(&str, &str); 8] = [
    ("case_members", "case_id"),
    ("case_members", "person_id"),
    ("reports", "child_id"),
    ("removals", "child_id"),
    ("contacts", "case_id"),
    ("assessments", "case_id"),
    ("assessments", "child_id"),
    ("persons", "person_id"),
];

fn is_case(column: &str) -> bool {
    column == "case_id"
}

type Dict<'a> = HashMap<&'a str, u32, foldhash::quality::FixedState>;

/// Every case and person id of an extract as an integer, and the integer
/// of each row's key in each column a cut is made on.
pub(crate) struct Index<'a> {
    cases: Dict<'a>,
    persons: Dict<'a>,
    codes: HashMap<(&'static str, &'static str), Vec<u32>>,
}

/// No key (an empty value, or one not in the dictionary).
const NONE: u32 = u32::MAX;

fn dict<'a>(ids: &'a StringChunked) -> Dict<'a> {
    let mut d = Dict::with_capacity_and_hasher(
        ids.len(),
        foldhash::quality::FixedState::with_seed(0x5afe_f1a9),
    );
    for id in ids.iter().flatten() {
        let n = d.len() as u32;
        d.entry(id).or_insert(n);
    }
    d
}

impl<'a> Index<'a> {
    /// Builds the index of an extract (once per stack).
    pub(crate) fn new(x: &'a Extract) -> Result<Index<'a>> {
        use rayon::prelude::*;
        let cases = dict(x.table("case_periods").column("case_id")?.str()?);
        let persons = dict(x.table("persons").column("person_id")?.str()?);
        let mut codes = HashMap::new();
        for (table, column) in COLUMNS {
            let d = if is_case(column) { &cases } else { &persons };
            let values: Vec<Option<&str>> = x.table(table).column(column)?.str()?.iter().collect();
            let c: Vec<u32> = values
                .par_iter()
                .map(|v| v.and_then(|v| d.get(v).copied()).unwrap_or(NONE))
                .collect();
            codes.insert((table, column), c);
        }
        Ok(Index {
            cases,
            persons,
            codes,
        })
    }
}

/// The rows of `table` whose `column` holds one of `keys`.
pub(crate) fn keep(
    x: &Extract,
    index: Option<&Index<'_>>,
    table: &'static str,
    column: &'static str,
    keys: &StringChunked,
) -> Result<DataFrame> {
    let df = x.table(table);
    let mask: BooleanChunked = match index.and_then(|i| Some((i, i.codes.get(&(table, column))?))) {
        Some((index, codes)) => {
            let d = if is_case(column) {
                &index.cases
            } else {
                &index.persons
            };
            let mut wanted = vec![false; d.len()];
            for k in keys.iter().flatten() {
                if let Some(&c) = d.get(k) {
                    wanted[c as usize] = true;
                }
            }
            codes
                .iter()
                .map(|&c| Some(c != NONE && wanted[c as usize]))
                .collect()
        }
        None => {
            let set = KnownKeys::new(keys.iter());
            let values: Vec<Option<&str>> = df.column(column)?.str()?.iter().collect();
            let absent = set.absent(&values);
            values
                .iter()
                .zip(absent)
                .map(|(v, a)| Some(v.is_some() && !a))
                .collect()
        }
    };
    Ok(df.filter(&mask)?)
}
