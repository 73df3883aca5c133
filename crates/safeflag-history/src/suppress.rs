//! Review suppression: a case reviewed recently is not queued again unless
//! something material changed since the flag that was reviewed.
//!
//! Programs of this kind review a case and then leave it with its worker for
//! a quarter; flagging it again every night would bury the reviewers in cases
//! they have just seen. But a new report, a new baby, a new adult in the
//! home, or a real rise in risk is exactly what a reviewer must hear about.

use serde::{Deserialize, Serialize};

use crate::CaseState;

/// The suppression settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct SuppressionPolicy {
    /// A review suppresses re-flagging for this many days after its date.
    pub days: i64,
    /// A rise of the lead probability by more than this (absolute, 0-1) is material.
    pub probability_rise: f64,
}

impl Default for SuppressionPolicy {
    fn default() -> Self {
        SuppressionPolicy {
            days: 90,
            probability_rise: 0.05,
        }
    }
}

/// What to do with a recently reviewed case tonight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing material changed: pass over it.
    Suppress,
    /// These material changes since the review: queue it as usual.
    Changed(Vec<String>),
}

/// Compares tonight's state of a reviewed case with its state when the
/// reviewed flag was raised.
pub fn decide(before: &CaseState, now: &CaseState, policy: &SuppressionPolicy) -> Decision {
    let mut changes = Vec::new();
    if let Some(n) = now.prior_reports
        && n > before.prior_reports.unwrap_or(0)
    {
        changes.push(format!(
            "new report since review ({} -> {n})",
            before.prior_reports.unwrap_or(0)
        ));
    }
    let new_infants = now.infants.difference(&before.infants).count();
    if new_infants > 0 {
        changes.push(if new_infants == 1 {
            "new infant in the home".to_string()
        } else {
            format!("{new_infants} new infants in the home")
        });
    }
    if now.unrelated_adult == Some(true) && before.unrelated_adult != Some(true) {
        changes.push("new unrelated adult in the home".into());
    }
    let rise = now.probability - before.probability;
    if rise > policy.probability_rise {
        changes.push(format!(
            "probability up {:.1} points ({:.1}% -> {:.1}%)",
            rise * 100.0,
            before.probability * 100.0,
            now.probability * 100.0
        ));
    }
    if changes.is_empty() {
        Decision::Suppress
    } else {
        Decision::Changed(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(p: f64, reports: Option<i64>, infants: &[&str], adult: Option<bool>) -> CaseState {
        CaseState {
            probability: p,
            prior_reports: reports,
            infants: infants.iter().map(|s| s.to_string()).collect(),
            unrelated_adult: adult,
        }
    }

    #[test]
    fn nothing_material_suppresses() {
        let before = state(0.30, Some(2), &["K1"], Some(false));
        // A small rise, an infant who stays, the same reports: still suppressed.
        let now = state(0.34, Some(2), &["K1"], Some(false));
        assert_eq!(
            decide(&before, &now, &SuppressionPolicy::default()),
            Decision::Suppress
        );
        // An infant turning one is not a new infant.
        let now = state(0.30, Some(2), &[], Some(false));
        assert_eq!(
            decide(&before, &now, &SuppressionPolicy::default()),
            Decision::Suppress
        );
    }

    #[test]
    fn each_material_change_is_named() {
        let p = SuppressionPolicy::default();
        let before = state(0.30, Some(2), &["K1"], Some(false));
        let cases = [
            (
                state(0.30, Some(3), &["K1"], Some(false)),
                "new report since review (2 -> 3)",
            ),
            (
                state(0.30, Some(2), &["K1", "K9"], Some(false)),
                "new infant in the home",
            ),
            (
                state(0.30, Some(2), &["K1"], Some(true)),
                "new unrelated adult in the home",
            ),
            (
                state(0.36, Some(2), &["K1"], Some(false)),
                "probability up 6.0 points (30.0% -> 36.0%)",
            ),
        ];
        for (now, want) in cases {
            assert_eq!(
                decide(&before, &now, &p),
                Decision::Changed(vec![want.to_string()])
            );
        }
        // A missing answer before and "yes" now is a change; "yes" before and now is not.
        let before = state(0.30, None, &[], None);
        let now = state(0.30, None, &[], Some(true));
        assert!(matches!(decide(&before, &now, &p), Decision::Changed(_)));
        let before = state(0.30, None, &[], Some(true));
        assert_eq!(decide(&before, &now, &p), Decision::Suppress);
    }
}
