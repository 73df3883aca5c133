//! The practice measures' shape: what an RSF-style program reports about
//! its reviews. The history counts them (`safeflag_history::measures`, where
//! each is defined); the nightly report and `safeflag reviews report` show
//! them. Defined here, in the review loop's crate, so both can name them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Flags and their reviews.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagCounts {
    /// Cases entering the queue (new or re-flagged) in the window.
    pub flagged: usize,
    /// Of those, reviewed by the window's end.
    pub reviewed: usize,
    /// Of those, first reviewed by the review deadline.
    pub reviewed_on_time: usize,
    /// Not reviewed, and the deadline not yet passed on `as_of`.
    pub pending: usize,
}

/// Consultations of the reviews recorded from workbooks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsultationCounts {
    /// Reviews (latest version each) dated in the window.
    pub reviews: usize,
    /// Of those, with a consultation date.
    pub consulted: usize,
    /// Of those, consulted by the deadline.
    pub within_deadline: usize,
}

/// Action items at their latest version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionCounts {
    /// Action items recorded.
    pub total: usize,
    /// Still open.
    pub open: usize,
    /// Open and due before the window's end.
    pub overdue: usize,
    /// Done by their due date.
    pub done_on_time: usize,
    /// Done after it.
    pub done_late: usize,
    /// Dropped.
    pub dropped: usize,
}

/// Reviews and overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideCounts {
    /// Reviews dated in the window.
    pub reviews: usize,
    /// Of those, overrides.
    pub overrides: usize,
}

/// The practice measures over a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PracticeMeasures {
    /// First night, `YYYY-MM-DD`.
    pub from: String,
    /// Last night.
    pub to: String,
    /// The day the measures were taken.
    pub as_of: String,
    /// Flags reviewed, and on time: all, and by office.
    pub flags: FlagCounts,
    /// By office.
    pub flags_by_office: BTreeMap<String, FlagCounts>,
    /// Consultations within the deadline.
    pub consultations: ConsultationCounts,
    /// Action items.
    pub actions: ActionCounts,
    /// Overrides: all, by reviewer, by office.
    pub overrides: OverrideCounts,
    /// By reviewer.
    pub overrides_by_reviewer: BTreeMap<String, OverrideCounts>,
    /// By office.
    pub overrides_by_office: BTreeMap<String, OverrideCounts>,
    /// By the race/ethnicity group of the case's lead child at its latest flag
    /// (`(missing)` when the flag did not record one).
    pub overrides_by_group: BTreeMap<String, OverrideCounts>,
    /// Item ratings by office: office -> item -> rating -> reviews.
    pub ratings_by_office: BTreeMap<String, Counts3>,
    /// Item ratings by month of the review (`YYYY-MM`): month -> item -> rating -> reviews.
    pub ratings_by_month: BTreeMap<String, Counts3>,
    /// From one review of a case to its next: item -> `from -> to` -> cases.
    pub rating_changes: BTreeMap<String, BTreeMap<String, usize>>,
    /// The second-review sample and its agreement.
    pub second_reviews: SecondReviews,
}

/// One office's queue on one night, for the queue over time: the cases
/// queued, by their status against earlier nights, and the cases a recent
/// review held out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueNight {
    /// The night, `YYYY-MM-DD`.
    pub night: String,
    /// The office.
    pub office: String,
    /// Cases queued.
    pub queued: usize,
    /// Of those, flagged for the first time.
    pub new: usize,
    /// Flagged the night before too.
    pub continuing: usize,
    /// Flagged before, but not the night before.
    pub re_flagged: usize,
    /// Queued because a re-review fell due.
    pub re_review: usize,
    /// Cases passed over after a recent review (counted under the office of
    /// their latest flag).
    pub suppressed: usize,
}

impl QueueNight {
    /// An office's empty night.
    pub fn of(night: &str, office: &str) -> QueueNight {
        QueueNight {
            night: night.to_string(),
            office: office.to_string(),
            ..QueueNight::default()
        }
    }

    /// Adds another night's (or office's) counts to these.
    pub fn absorb(&mut self, o: &QueueNight) {
        self.queued += o.queued;
        self.new += o.new;
        self.continuing += o.continuing;
        self.re_flagged += o.re_flagged;
        self.re_review += o.re_review;
        self.suppressed += o.suppressed;
    }

    /// Counts a queued case of `status` (`new`, `continuing`, `re-flagged`,
    /// `re-review`); an unknown status counts as queued only.
    pub fn add(&mut self, status: &str) {
        self.queued += 1;
        match status {
            "new" => self.new += 1,
            "continuing" => self.continuing += 1,
            "re-flagged" => self.re_flagged += 1,
            "re-review" => self.re_review += 1,
            _ => {}
        }
    }
}

/// The monthly sample of reviews chosen for a second review, and how often
/// the second reviewer agreed with the first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondReviews {
    /// The share of each month's cases sampled.
    pub share: f64,
    /// First reviews in the sample.
    pub sampled: usize,
    /// Of those, with a second review (another reviewer, within 30 days).
    pub second_done: usize,
    /// Of those, with the same disposition.
    pub same_disposition: usize,
    /// Items rated in both reviews.
    pub items_compared: usize,
    /// Of those, rated the same.
    pub items_agreed: usize,
    /// Sampled first reviews still waiting for a second: `case_id`, `review_date`, `reviewer`.
    pub waiting: Vec<(String, String, String)>,
}

/// item -> rating -> count.
pub type Counts3 = BTreeMap<String, BTreeMap<String, usize>>;

impl PracticeMeasures {
    /// Item ratings over all offices: item -> rating -> reviews.
    pub fn ratings_by_item(&self) -> BTreeMap<&str, BTreeMap<&str, usize>> {
        let mut items: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
        for by_item in self.ratings_by_office.values() {
            for (item, ratings) in by_item {
                for (rating, n) in ratings {
                    *items.entry(item).or_default().entry(rating).or_default() += n;
                }
            }
        }
        items
    }
}
