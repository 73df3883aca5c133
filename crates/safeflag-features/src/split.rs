//! Train/test splits that do not lie.
//!
//! Early published AUCs of a screening tool were inflated by putting siblings
//! on both sides of the split. Here every split keeps each case (all its
//! children, all its snapshots) on one side, and the default split is by time:
//! train on snapshots before a cut-off date, test on those after, as the model
//! will be used. A case seen before the cut-off is never tested on: its later
//! rows are excluded rather than leaked.

use std::collections::HashSet;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::{Error, Result};

/// How to split.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitPlan {
    /// Train before `cutoff`, test on or after it; `None` picks the cut-off
    /// so that about a quarter of the rows fall on or after it.
    ByTime {
        /// The first test date.
        cutoff: Option<NaiveDate>,
    },
    /// A random share of cases (not children, not rows) is the test side.
    ByCase {
        /// Share of cases in the test side, in (0, 1).
        test_fraction: f64,
        /// Seed of the case assignment.
        seed: u64,
    },
}

/// Row indices of each side.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Rows to train on.
    pub train: Vec<usize>,
    /// Rows to test on.
    pub test: Vec<usize>,
    /// Rows on or after the cut-off of cases already seen in training.
    pub excluded: Vec<usize>,
    /// The cut-off used by a time split.
    pub cutoff: Option<NaiveDate>,
}

use safeflag_core::days::{EPOCH, to_days};

fn dates(cases: &DataFrame) -> Result<Vec<i32>> {
    let c = cases.column("snapshot_date")?.cast(&DataType::Int32)?;
    Ok(c.i32()?.iter().map(|d| d.unwrap_or(i32::MIN)).collect())
}

/// Splits validated cases by `plan`.
pub fn split(cases: &DataFrame, plan: &SplitPlan) -> Result<Split> {
    let case_ids = cases.column("case_id")?.str()?.clone();
    match plan {
        SplitPlan::ByTime { cutoff } => {
            let d = dates(cases)?;
            let cutoff_day = match cutoff {
                Some(c) => to_days(*c),
                None => default_cutoff(&d)?,
            };
            let mut train = Vec::new();
            let mut seen: HashSet<&str> = HashSet::new();
            for (i, day) in d.iter().enumerate() {
                if *day < cutoff_day {
                    train.push(i);
                    seen.insert(case_ids.get(i).unwrap_or_default());
                }
            }
            let (mut test, mut excluded) = (Vec::new(), Vec::new());
            for (i, day) in d.iter().enumerate() {
                if *day >= cutoff_day {
                    if seen.contains(case_ids.get(i).unwrap_or_default()) {
                        excluded.push(i);
                    } else {
                        test.push(i);
                    }
                }
            }
            let cutoff = EPOCH + chrono::Duration::days(i64::from(cutoff_day));
            if train.is_empty() || test.is_empty() {
                return Err(Error::Split(format!(
                    "a time split at {cutoff} leaves {} training and {} test rows; choose another --split-date",
                    train.len(),
                    test.len()
                )));
            }
            Ok(Split {
                train,
                test,
                excluded,
                cutoff: Some(cutoff),
            })
        }
        SplitPlan::ByCase {
            test_fraction,
            seed,
        } => {
            if !(*test_fraction > 0.0 && *test_fraction < 1.0) {
                return Err(Error::Split(format!(
                    "test fraction {test_fraction} is not between 0 and 1"
                )));
            }
            let all: Vec<usize> = (0..cases.height()).collect();
            let (test, train) = partition_by_case(&case_ids, &all, *test_fraction, *seed);
            if train.is_empty() || test.is_empty() {
                return Err(Error::Split("the grouped split left one side empty".into()));
            }
            Ok(Split {
                train,
                test,
                excluded: Vec::new(),
                cutoff: None,
            })
        }
    }
}

/// Splits `rows` into (chosen, rest) by case: a case is chosen when its
/// seeded hash falls below `fraction`. Deterministic, and independent of row order.
pub fn partition_by_case(
    case_ids: &StringChunked,
    rows: &[usize],
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let threshold = (fraction * u64::MAX as f64) as u64;
    rows.iter()
        .partition(|&&i| case_hash(case_ids.get(i).unwrap_or_default(), seed) < threshold)
}

/// A stable 64-bit hash of a case id and a seed (FNV-1a, then a SplitMix64
/// finaliser): stable across platforms and library versions, unlike std's.
pub fn case_hash(case_id: &str, seed: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in case_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// The latest snapshot date that leaves at least a quarter of rows on or after it.
fn default_cutoff(days: &[i32]) -> Result<i32> {
    let mut distinct: Vec<i32> = days.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 2 {
        return Err(Error::Split(
            "a time split needs at least two snapshot dates; pass --test-fraction for a split by case".into(),
        ));
    }
    let n = days.len();
    let mut after = 0usize;
    for &d in distinct.iter().rev() {
        after += days.iter().filter(|&&x| x == d).count();
        if after * 4 >= n {
            // Never put every date on the test side.
            return Ok(d.max(distinct[1]));
        }
    }
    Ok(distinct[1])
}
