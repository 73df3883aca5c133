//! The re-review schedule: a reviewed case is reviewed again every quarter
//! until the case closes, a child is removed, or its youngest child turns
//! three (the RSF practice in `../shared/domain.md`).

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// How re-reviews are scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReReviewPolicy {
    /// Days from a review to the next (91: quarterly).
    pub every_days: u32,
    /// The schedule ends when the youngest child reaches this age in whole
    /// months (36: the third birthday).
    pub until_age_months: u32,
}

impl Default for ReReviewPolicy {
    fn default() -> Self {
        ReReviewPolicy {
            every_days: 91,
            until_age_months: 36,
        }
    }
}

/// A reviewed case as it stands on a night.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseTonight {
    /// A child of the case was removed since its last review (the case is
    /// out of home now, or its removals went up).
    pub removed_since_review: bool,
    /// The birth date of the case's youngest child, when known.
    pub youngest_birth: Option<NaiveDate>,
}

/// Why a case's re-reviews ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    /// The case is no longer open (not in the night's snapshot).
    Closed,
    /// A child was removed.
    Removed,
    /// The youngest child reaches the age limit by the next due date.
    YoungestAgedOut,
}

/// Where a reviewed case stands in the schedule on a night.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReReview {
    /// A re-review is due (since `due_on`).
    Due {
        /// The day it fell due.
        due_on: NaiveDate,
    },
    /// The next re-review falls due on `due_on`.
    NotYet {
        /// The day it falls due.
        due_on: NaiveDate,
    },
    /// No more re-reviews.
    Ended {
        /// Why.
        why: Ended,
    },
}

/// The youngest child's birthday at which the schedule ends (a birthday on
/// 29 February falls on 28 February in a common year).
pub fn age_limit(birth: NaiveDate, policy: &ReReviewPolicy) -> Option<NaiveDate> {
    birth.checked_add_months(Months::new(policy.until_age_months))
}

/// Where a case last reviewed on `last_review` stands on `night`; `case` is
/// `None` when the case is not open that night.
pub fn re_review(
    last_review: NaiveDate,
    night: NaiveDate,
    case: Option<&CaseTonight>,
    policy: &ReReviewPolicy,
) -> ReReview {
    let Some(case) = case else {
        return ReReview::Ended { why: Ended::Closed };
    };
    if case.removed_since_review {
        return ReReview::Ended {
            why: Ended::Removed,
        };
    }
    let due_on = last_review + Days::new(policy.every_days.into());
    if let Some(limit) = case.youngest_birth.and_then(|b| age_limit(b, policy))
        && limit <= due_on
    {
        return ReReview::Ended {
            why: Ended::YoungestAgedOut,
        };
    }
    if night >= due_on {
        ReReview::Due { due_on }
    } else {
        ReReview::NotYet { due_on }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const OPEN: CaseTonight = CaseTonight {
        removed_since_review: false,
        youngest_birth: None,
    };

    #[test]
    fn quarterly_until_due_then_due() {
        let p = ReReviewPolicy::default();
        let last = d("2025-11-21");
        assert_eq!(
            re_review(last, d("2026-02-19"), Some(&OPEN), &p),
            ReReview::NotYet {
                due_on: d("2026-02-20")
            }
        );
        assert_eq!(
            re_review(last, d("2026-02-20"), Some(&OPEN), &p),
            ReReview::Due {
                due_on: d("2026-02-20")
            }
        );
        assert_eq!(
            re_review(last, d("2026-04-01"), Some(&OPEN), &p),
            ReReview::Due {
                due_on: d("2026-02-20")
            }
        );
    }

    #[test]
    fn the_schedule_ends_at_closure_removal_and_the_third_birthday() {
        let p = ReReviewPolicy::default();
        let last = d("2025-11-21");
        let night = d("2026-03-01");
        assert_eq!(
            re_review(last, night, None, &p),
            ReReview::Ended { why: Ended::Closed }
        );
        let removed = CaseTonight {
            removed_since_review: true,
            ..OPEN
        };
        assert_eq!(
            re_review(last, night, Some(&removed), &p),
            ReReview::Ended {
                why: Ended::Removed
            }
        );
        // Third birthday on the due date (2026-02-20): no more re-reviews.
        let aged = CaseTonight {
            youngest_birth: Some(d("2023-02-20")),
            ..OPEN
        };
        assert_eq!(
            re_review(last, night, Some(&aged), &p),
            ReReview::Ended {
                why: Ended::YoungestAgedOut
            }
        );
        // One day younger: the third birthday falls after the due date.
        let young = CaseTonight {
            youngest_birth: Some(d("2023-02-21")),
            ..OPEN
        };
        assert_eq!(
            re_review(last, night, Some(&young), &p),
            ReReview::Due {
                due_on: d("2026-02-20")
            }
        );
        // A leap-day birth turns three on 28 February.
        assert_eq!(age_limit(d("2024-02-29"), &p), Some(d("2027-02-28")));
    }

    #[test]
    fn the_policy_is_configurable() {
        let p = ReReviewPolicy {
            every_days: 30,
            until_age_months: 12,
        };
        let infant = CaseTonight {
            youngest_birth: Some(d("2025-06-01")),
            ..OPEN
        };
        assert_eq!(
            re_review(d("2025-11-21"), d("2025-12-21"), Some(&infant), &p),
            ReReview::Due {
                due_on: d("2025-12-21")
            }
        );
        assert_eq!(
            re_review(d("2025-05-10"), d("2025-06-09"), Some(&infant), &p),
            ReReview::Due {
                due_on: d("2025-06-09")
            }
        );
        let older = CaseTonight {
            youngest_birth: Some(d("2024-12-01")),
            ..OPEN
        };
        assert_eq!(
            re_review(d("2025-11-21"), d("2025-12-21"), Some(&older), &p),
            ReReview::Ended {
                why: Ended::YoungestAgedOut
            }
        );
    }
}
