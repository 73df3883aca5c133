//! Time travel holds: building a date from the whole extract gives exactly
//! the rows built from the extract cut to what was recorded by that date.

use chrono::Days;
use proptest::prelude::*;
use safeflag_extract::{LabelOptions, snapshot, stack};

use crate::{date, world};

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_snapshot_depends_only_on_what_was_recorded_by_its_date(seed in 0u64..1_000_000, offset in 0u64..729) {
        let x = world(400, 2, seed);
        // Up to the day before the extract date, so a one-day label window has closed.
        let d = date("2024-01-01") + Days::new(offset);
        let whole = snapshot(&x, d).unwrap();
        let cut = snapshot(&x.known_on(d).unwrap(), d).unwrap();
        prop_assert!(whole.frame.height() > 0);
        prop_assert!(whole.frame.equals_missing(&cut.frame), "differs on {d} (seed {seed})");
        prop_assert_eq!(&whole.summary, &cut.summary);
        prop_assert_eq!(whole.summary.quarantined, 0);
        // A stack cuts its tables through an index built once: the same rows.
        let label = LabelOptions { window_days: 1, lag_days: 0 };
        let stacked = stack(&x, &[d], label).unwrap().frame.drop("outcome_critical_incident").unwrap();
        prop_assert!(stacked.equals_missing(&cut.frame), "the stack differs on {d} (seed {seed})");
    }
}

#[test]
fn the_leaky_extract_differs_so_the_property_can_fail() {
    // Knowledge dates replaced by event dates: the same test must then find
    // differences, or it proves nothing.
    let x = world(2_000, 2, 3).without_knowledge_dates().unwrap();
    let honest = world(2_000, 2, 3);
    let mut differ = 0;
    for d in ["2024-03-01", "2024-09-01", "2025-03-01", "2025-09-01"] {
        let d = date(d);
        let leaky = snapshot(&x, d).unwrap().frame;
        let cut = snapshot(&honest.known_on(d).unwrap(), d).unwrap().frame;
        differ += usize::from(!leaky.equals_missing(&cut));
    }
    assert_eq!(differ, 4);
}
