//! Business days, for the consultation deadline: weekends and the agency's
//! configured holidays are not business days.
//!
//! A reviewer consults the worker and supervisor "within one business day"
//! of the flag: a case flagged on a Friday is due on Monday, or on Tuesday
//! when Monday is a holiday. The deadline of `n` business days after a day
//! is the `n`th business day strictly after it.

use std::collections::BTreeSet;

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// The consultation deadline by default: one business day.
pub const DEFAULT_CONSULTATION_DAYS: u32 = 1;

/// Weekends and holidays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    holidays: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// A calendar with these holidays (weekends are never business days).
    pub fn new(holidays: impl IntoIterator<Item = NaiveDate>) -> Calendar {
        Calendar {
            holidays: holidays.into_iter().collect(),
        }
    }

    /// Whether `d` is a business day.
    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&d)
    }

    /// The `n`th business day strictly after `d` (`n = 0`: `d` itself).
    pub fn add_business_days(&self, d: NaiveDate, n: u32) -> NaiveDate {
        let mut day = d;
        let mut left = n;
        while left > 0 {
            day = day + Days::new(1);
            if self.is_business_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// Business days strictly after `from`, up to and including `to` (0
    /// when `to` is not after `from`).
    pub fn business_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| self.is_business_day(*d))
            .count() as u32
    }

    /// Whether something done on `done` met a deadline of `n` business days
    /// after `from`.
    pub fn on_time(&self, from: NaiveDate, done: NaiveDate, n: u32) -> bool {
        done <= self.add_business_days(from, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn one_business_day_skips_weekends_and_holidays() {
        let c = Calendar::new([d("2025-12-25"), d("2026-01-01"), d("2026-01-19")]);
        // Thursday -> Friday; Friday -> Monday; Saturday and Sunday -> Monday.
        assert_eq!(c.add_business_days(d("2025-11-20"), 1), d("2025-11-21"));
        assert_eq!(c.add_business_days(d("2025-11-21"), 1), d("2025-11-24"));
        assert_eq!(c.add_business_days(d("2025-11-22"), 1), d("2025-11-24"));
        assert_eq!(c.add_business_days(d("2025-11-23"), 1), d("2025-11-24"));
        // Wednesday 24 December -> Friday 26 (Christmas is a holiday).
        assert_eq!(c.add_business_days(d("2025-12-24"), 1), d("2025-12-26"));
        // Friday before a Monday holiday (MLK day 2026) -> Tuesday.
        assert_eq!(c.add_business_days(d("2026-01-16"), 1), d("2026-01-20"));
        // Two business days over a weekend and a holiday.
        assert_eq!(c.add_business_days(d("2025-12-31"), 2), d("2026-01-05"));
        assert_eq!(c.add_business_days(d("2025-11-21"), 0), d("2025-11-21"));
        // Without the holiday, Christmas is an ordinary Thursday.
        assert_eq!(
            Calendar::default().add_business_days(d("2025-12-24"), 1),
            d("2025-12-25")
        );
    }

    #[test]
    fn on_time_is_by_the_deadline_inclusive() {
        let c = Calendar::new([d("2026-01-19")]);
        assert!(c.on_time(d("2026-01-16"), d("2026-01-20"), 1));
        assert!(!c.on_time(d("2026-01-16"), d("2026-01-21"), 1));
        assert!(
            c.on_time(d("2026-01-16"), d("2026-01-16"), 1),
            "the same day"
        );
    }

    /// For every start day over two years and n = 0..6: the deadline is a
    /// business day (or the start, for n = 0), there are exactly n business
    /// days up to it, and none is skipped.
    #[test]
    fn the_deadline_counts_exactly_n_business_days() {
        let c = Calendar::new([d("2025-12-25"), d("2026-01-01"), d("2026-07-03")]);
        for start in d("2025-06-01").iter_days().take(730) {
            for n in 0..6 {
                let end = c.add_business_days(start, n);
                assert_eq!(c.business_days_between(start, end), n, "{start} + {n}");
                if n > 0 {
                    assert!(c.is_business_day(end), "{start} + {n} = {end}");
                    let day_before = end.pred_opt().unwrap();
                    assert_eq!(c.business_days_between(start, day_before), n - 1);
                } else {
                    assert_eq!(end, start);
                }
            }
        }
    }
}
