//! Dates as the columnar engines hold them: whole days since 1970-01-01.
//!
//! Arrow and polars store a date as an `i32` day number; chrono counts from
//! the year 1. Every crate that moves between the two uses these, so the
//! epoch is written once.

use chrono::NaiveDate;

/// 1970-01-01, day 0.
pub const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");

/// The day number of a date.
pub fn to_days(date: NaiveDate) -> i32 {
    (date - EPOCH).num_days() as i32
}

/// The date of a day number (`None` outside chrono's calendar).
pub fn from_days(days: i64) -> Option<NaiveDate> {
    EPOCH.checked_add_signed(chrono::TimeDelta::try_days(days)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip_and_match_arrow() {
        assert_eq!(to_days(EPOCH), 0);
        let d = NaiveDate::from_ymd_opt(2025, 11, 21).unwrap();
        // 2025-11-21 is day 20,413 in Arrow's count.
        assert_eq!(to_days(d), 20_413);
        assert_eq!(from_days(20_413), Some(d));
        assert_eq!(from_days(-1), NaiveDate::from_ymd_opt(1969, 12, 31));
        assert_eq!(from_days(i64::MAX), None);
    }
}
