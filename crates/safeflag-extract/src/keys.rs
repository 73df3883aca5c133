//! Every case and person id of an extract as a small integer, and cutting a
//! table to the rows of a few of them.
//!
//! The references between tables are checked by looking each id up once in
//! a dictionary of the cases and persons on record. The answer is kept
//! beside the row, as an integer column ([`CASE_CODE`], [`PERSON_CODE`]), so
//! every later step (cutting the tables to a night's open cases, joining,
//! grouping, for one snapshot or each date of a stack) works on integers and
//! never hashes or compares an id's text again.
//!
//! A cut keeps the rows whose code is wanted: one pass over a column of
//! integers against a table of flags, then the few rows gathered, instead of
//! filtering every column of a table of millions.

use std::collections::HashMap;

use chrono::NaiveDate;
use polars::prelude::*;
use rayon::prelude::*;

use crate::Result;

/// The code column of the table's case id.
pub(crate) const CASE_CODE: &str = "__case";
/// The code column of the table's person id (a child's, in most tables).
pub(crate) const PERSON_CODE: &str = "__person";
/// The code of an empty id.
pub(crate) const MISSING: u32 = u32::MAX;
/// The code of an id that is not on record (a broken reference).
pub(crate) const UNKNOWN: u32 = u32::MAX - 1;

/// Each table's column holding a case id, and its column holding a person
/// id, in `TABLES` order. A table's own key is coded like a reference.
pub(crate) const REFERENCES: [(Option<&str>, Option<&str>); 8] = [
    (None, Some("person_id")),            // persons
    (Some("case_id"), None),              // case_periods
    (Some("case_id"), Some("person_id")), // case_members
    (None, Some("child_id")),             // reports
    (None, Some("child_id")),             // removals
    (Some("case_id"), Some("person_id")), // contacts
    (Some("case_id"), Some("child_id")),  // assessments
    (None, Some("child_id")),             // incidents
];

type Dict<'a> = HashMap<&'a str, u32, foldhash::quality::FixedState>;

fn dict(ids: &StringChunked) -> Dict<'_> {
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

/// The dictionaries of the case ids (from the case periods) and the person
/// ids (from the persons) on record.
pub(crate) struct Dicts<'a> {
    cases: Dict<'a>,
    persons: Dict<'a>,
}

/// One coded column of a table.
pub(crate) struct Coded {
    /// The id column.
    pub column: &'static str,
    /// Its code column ([`CASE_CODE`] or [`PERSON_CODE`]).
    pub code: &'static str,
    /// The code of each row.
    pub codes: Vec<u32>,
}

impl Coded {
    /// Rows whose id is not on record.
    pub(crate) fn unknown(&self) -> impl Iterator<Item = bool> + '_ {
        self.codes.iter().map(|&c| c == UNKNOWN)
    }
}

impl<'a> Dicts<'a> {
    /// The dictionaries of an extract's case and person ids.
    pub(crate) fn new(case_ids: &'a StringChunked, person_ids: &'a StringChunked) -> Dicts<'a> {
        let (cases, persons) = rayon::join(|| dict(case_ids), || dict(person_ids));
        Dicts { cases, persons }
    }

    /// How many distinct cases and persons there are.
    pub(crate) fn sizes(&self) -> (usize, usize) {
        (self.cases.len(), self.persons.len())
    }

    /// The coded id columns of table `i` (of `TABLES`), case column first.
    pub(crate) fn code(&self, i: usize, df: &DataFrame) -> Result<Vec<Coded>> {
        let (case, person) = REFERENCES[i];
        let mut out = Vec::with_capacity(2);
        for (column, code, d) in [
            (case, CASE_CODE, &self.cases),
            (person, PERSON_CODE, &self.persons),
        ] {
            if let Some(column) = column {
                out.push(Coded {
                    column,
                    code,
                    codes: lookup(d, df.column(column)?.str()?),
                });
            }
        }
        Ok(out)
    }
}

/// Each value's code, looked up in parallel over pieces of the column.
/// Extracts list a case's or a person's rows together, so each piece
/// remembers its last answer: a run of one id costs one lookup.
fn lookup(d: &Dict<'_>, values: &StringChunked) -> Vec<u32> {
    const PIECE: usize = 1 << 16;
    let pieces: Vec<_> = values
        .downcast_iter()
        .flat_map(|a| (0..a.len()).step_by(PIECE).map(move |at| (a, at)))
        .collect();
    let codes: Vec<Vec<u32>> = pieces
        .par_iter()
        .map(|&(a, at)| {
            let mut last: Option<(&str, u32)> = None;
            a.clone()
                .sliced(at, PIECE.min(a.len() - at))
                .iter()
                .map(|v| {
                    let Some(v) = v else { return MISSING };
                    match last {
                        Some((k, code)) if k == v => code,
                        _ => {
                            let code = d.get(v).copied().unwrap_or(UNKNOWN);
                            last = Some((v, code));
                            code
                        }
                    }
                })
                .collect()
        })
        .collect();
    codes.concat()
}

/// Adds the code columns to a table (replacing any column of the same name).
pub(crate) fn attach(df: &mut DataFrame, coded: Vec<Coded>) -> Result<()> {
    for c in coded {
        df.with_column(Column::new(c.code.into(), c.codes))?;
    }
    Ok(())
}

/// Codes every table of a valid extract (one built in memory).
pub(crate) fn code_all(tables: &mut [DataFrame]) -> Result<(usize, usize)> {
    let case_ids = tables[1].column("case_id")?.str()?.clone();
    let person_ids = tables[0].column("person_id")?.str()?.clone();
    let dicts = Dicts::new(&case_ids, &person_ids);
    for (i, df) in tables.iter_mut().enumerate() {
        let coded = dicts.code(i, df)?;
        attach(df, coded)?;
    }
    Ok(dicts.sizes())
}

/// A set of wanted codes, as a table of flags.
pub(crate) struct Wanted(Vec<bool>);

impl Wanted {
    /// The codes held in `column` of `df` (a code column), out of `space` codes.
    pub(crate) fn of(df: &DataFrame, column: &str, space: usize) -> Result<Wanted> {
        let mut w = vec![false; space];
        for c in df.column(column)?.u32()?.into_no_null_iter() {
            if let Some(f) = w.get_mut(c as usize) {
                *f = true;
            }
        }
        Ok(Wanted(w))
    }

    fn has(&self, c: u32) -> bool {
        self.0.get(c as usize).copied().unwrap_or(false)
    }
}

/// The rows of `df` whose code `column` holds a wanted code and, for a table
/// with a knowledge column, that were recorded by the date; with only `columns`:
/// a mask from one pass over the codes, then a filter of the few columns the
/// step needs.
pub(crate) fn keep(
    df: &DataFrame,
    column: &str,
    wanted: &Wanted,
    known: Option<(&str, NaiveDate)>,
    columns: &[&str],
) -> Result<DataFrame> {
    let codes = df.column(column)?.u32()?;
    let mut mask = vec![false; codes.len()];
    let mut at = 0;
    for a in codes.downcast_iter() {
        let piece = &mut mask[at..at + a.len()];
        piece
            .par_chunks_mut(1 << 16)
            .zip(a.values().par_chunks(1 << 16))
            .for_each(|(m, c)| {
                for (m, c) in m.iter_mut().zip(c) {
                    *m = wanted.has(*c);
                }
            });
        at += a.len();
    }
    let mut mask = BooleanChunked::from_slice("keep".into(), &mask);
    if let Some((known, by)) = known {
        let by = Series::new("by".into(), [crate::load::days(by)]).cast(&DataType::Date)?;
        let recorded = df.column(known)?.as_materialized_series().lt_eq(&by)?;
        mask = (mask & recorded).fill_null_with_values(false)?;
    }
    Ok(df.select(columns.iter().copied())?.filter(&mask)?)
}
