//! The generator's ground-truth risk model.
//!
//! The outcome of every synthetic row is drawn from `sigmoid(logit(row))`,
//! where `logit` is a fixed function of the row's *observed* contract values
//! (a missing value is a state of its own, with its own coefficient). So the
//! true probability is exactly what a perfect model could learn from the data,
//! and the AUC of the true probabilities is the ceiling any trained model can
//! reach on the same rows. Race/ethnicity has no term here: it has no direct
//! effect on the outcome (it shifts prior reports only, see `docs/synthetic-data.md`).
//!
//! Coefficients are natural logs of published effect sizes from
//! `shared/domain.md`; where a published odds ratio is for death alone, or
//! measured in a narrow group, it is tempered, and the table in
//! `docs/synthetic-data.md` says so for each.

/// Sleep environment index into [`safeflag_core::contract::SLEEP_ENVIRONMENTS`].
pub type SleepIdx = u8;

/// Sleep index of `crib_bassinet`.
pub const SLEEP_CRIB: SleepIdx = 0;
/// Sleep index of `adult_bed`.
pub const SLEEP_ADULT_BED: SleepIdx = 1;
/// Sleep index of `bed_sharing`.
pub const SLEEP_BED_SHARING: SleepIdx = 2;
/// Sleep index of `sofa_chair`.
pub const SLEEP_SOFA: SleepIdx = 3;
/// Sleep index of `other_unsafe`.
pub const SLEEP_OTHER_UNSAFE: SleepIdx = 4;

/// The observed values of one row that the truth reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TruthInputs {
    /// Child age in days at the snapshot.
    pub age_days: i64,
    /// Sleep environment index, `None` when missing.
    pub sleep: Option<SleepIdx>,
    /// Case type index into `CASE_TYPES`.
    pub case_type: u8,
    /// Disability, `None` when missing.
    pub disability: Option<bool>,
    /// Youngest caregiver's age, `None` when missing.
    pub caregiver_age: Option<i64>,
    /// Mental-health concern index (none, history, current).
    pub mental_health: u8,
    /// Substance-use concern index (none, history, current).
    pub substance_use: u8,
    /// Domestic violence.
    pub domestic_violence: bool,
    /// Whether the household items were assessed: when false the three
    /// above are not known (contract 1.1: empty) and count nothing; the
    /// not-assessed term stands for them.
    pub household_assessed: bool,
    /// Unrelated adult in the home, `None` when missing.
    pub unrelated_adult: Option<bool>,
    /// Prior reports.
    pub prior_reports: i64,
    /// Prior substantiations, `None` when missing.
    pub prior_substantiations: Option<i64>,
    /// Prior removals, `None` when missing.
    pub prior_removals: Option<i64>,
    /// Children in the home, `None` when missing.
    pub children_in_home: Option<i64>,
    /// Days since the last visit, `None` when missing.
    pub days_since_last_visit: Option<i64>,
}

/// The coefficients of the ground truth, each with its source.
pub mod coef {
    /// Chosen so that prevalence is about 1.5% on the generator's default mix
    /// (measured: see `docs/synthetic-data.md`).
    pub const INTERCEPT: f64 = -8.69;
    /// Under 6 months vs 3+ years: ln 6 (infants are 44% of deaths; 65% of
    /// Connecticut DCF deaths were under 6 months).
    pub const AGE_UNDER_6M: f64 = 1.79;
    /// 6-11 months: ln 3 (infant rate 16.7 vs 5.7 per 100k at age 1).
    pub const AGE_6_11M: f64 = 1.10;
    /// 1-2 years: ln 1.6 (5.7 and 4.7 per 100k at ages 1 and 2).
    pub const AGE_1_2Y: f64 = 0.47;
    /// Infant (under 1) in an adult bed or bed-sharing: ln 2.89 (bed-sharing OR 2.89).
    pub const INFANT_BED_SHARING: f64 = 1.06;
    /// Infant on a sofa or armchair: ln 7.4, tempered from OR 18.3 (a SUID-only estimate).
    pub const INFANT_SOFA: f64 = 2.0;
    /// Infant in another unsafe place: ln 2.
    pub const INFANT_OTHER_UNSAFE: f64 = 0.69;
    /// Extra for unsafe sleep under 6 months: bed-sharing OR rises to 10.4 under 12 weeks.
    pub const UNDER_6M_UNSAFE_EXTRA: f64 = 0.5;
    /// Unsafe sleep at 1 year or older: small.
    pub const OLDER_UNSAFE: f64 = 0.2;
    /// Infant whose sleep was not assessed, unknown or not recorded: a practice gap.
    pub const INFANT_SLEEP_UNASSESSED: f64 = 0.3;
    /// Unrelated adult in the home: ln 4.5, tempered from aOR 8.8 (maltreatment death).
    pub const UNRELATED_ADULT: f64 = 1.5;
    /// Household composition not recorded.
    pub const UNRELATED_ADULT_MISSING: f64 = 0.3;
    /// Any prior report: ln 3.3, between aHR 2.0 (unintentional) and 5.9 (intentional).
    pub const ANY_PRIOR_REPORT: f64 = 1.2;
    /// Per log(1 + prior reports).
    pub const LOG_PRIOR_REPORTS: f64 = 0.25;
    /// Any prior substantiation.
    pub const ANY_PRIOR_SUBSTANTIATION: f64 = 0.3;
    /// Any prior removal.
    pub const ANY_PRIOR_REMOVAL: f64 = 0.3;
    /// Youngest caregiver under 20: ln 3, tempered from RR 9.3 (mother 17-19, second child).
    pub const YOUNG_CAREGIVER: f64 = 1.1;
    /// Current caregiver mental-health concern: ln 2.4 (HR 2.4 child death).
    pub const MENTAL_HEALTH_CURRENT: f64 = 0.88;
    /// History of a mental-health concern.
    pub const MENTAL_HEALTH_HISTORY: f64 = 0.2;
    /// Current caregiver substance use: ln 2.3 (SUID aHR 2.3).
    pub const SUBSTANCE_USE_CURRENT: f64 = 0.83;
    /// History of substance use.
    pub const SUBSTANCE_USE_HISTORY: f64 = 0.2;
    /// Domestic violence: ln 2 (present in 34-46% of deaths with prior CPS history).
    pub const DOMESTIC_VIOLENCE: f64 = 0.69;
    /// Household not yet assessed (a new investigation): the riskiest
    /// moment, and the household's problems unknown; ln 1.6, about the
    /// average of the three items' terms on the generator's mix plus a little.
    pub const HOUSEHOLD_NOT_ASSESSED: f64 = 0.47;
    /// Disability or medically complex: ln 2.7, tempered from OR 3.7 (violence, any age).
    pub const DISABILITY: f64 = 1.0;
    /// Per day since the last visit, capped at 120 days (practice matters: Connecticut case-control).
    pub const VISIT_GAP_PER_DAY: f64 = 0.012;
    /// Cap of the visit gap, in days.
    pub const VISIT_GAP_CAP: i64 = 120;
    /// Visit date not recorded.
    pub const VISIT_GAP_MISSING: f64 = 0.4;
    /// Case types: investigation, in-home, out-of-home (child out of the home is safer).
    pub const CASE_TYPE: [f64; 3] = [0.2, 0.3, -0.9];
    /// Per additional child in the home, capped at 8 children.
    pub const PER_EXTRA_CHILD: f64 = 0.08;
}

/// The true log-odds of a critical incident for one row.
pub fn logit(x: &TruthInputs) -> f64 {
    use coef::*;
    let mut z = INTERCEPT;
    let under_6m = x.age_days < 183;
    let infant = x.age_days < 365;
    z += if under_6m {
        AGE_UNDER_6M
    } else if infant {
        AGE_6_11M
    } else if x.age_days < 3 * 365 {
        AGE_1_2Y
    } else {
        0.0
    };
    let unsafe_sleep =
        matches!(x.sleep, Some(s) if (SLEEP_ADULT_BED..=SLEEP_OTHER_UNSAFE).contains(&s));
    if infant {
        z += match x.sleep {
            Some(SLEEP_ADULT_BED | SLEEP_BED_SHARING) => INFANT_BED_SHARING,
            Some(SLEEP_SOFA) => INFANT_SOFA,
            Some(SLEEP_OTHER_UNSAFE) => INFANT_OTHER_UNSAFE,
            Some(SLEEP_CRIB) => 0.0,
            _ => INFANT_SLEEP_UNASSESSED,
        };
        if under_6m && unsafe_sleep {
            z += UNDER_6M_UNSAFE_EXTRA;
        }
    } else if unsafe_sleep {
        z += OLDER_UNSAFE;
    }
    z += match x.unrelated_adult {
        Some(true) => UNRELATED_ADULT,
        Some(false) => 0.0,
        None => UNRELATED_ADULT_MISSING,
    };
    if x.prior_reports > 0 {
        z += ANY_PRIOR_REPORT;
    }
    z += LOG_PRIOR_REPORTS * (x.prior_reports as f64).ln_1p();
    if x.prior_substantiations.unwrap_or(0) > 0 {
        z += ANY_PRIOR_SUBSTANTIATION;
    }
    if x.prior_removals.unwrap_or(0) > 0 {
        z += ANY_PRIOR_REMOVAL;
    }
    if matches!(x.caregiver_age, Some(a) if a < 20) {
        z += YOUNG_CAREGIVER;
    }
    if x.household_assessed {
        z += [0.0, MENTAL_HEALTH_HISTORY, MENTAL_HEALTH_CURRENT][x.mental_health as usize];
        z += [0.0, SUBSTANCE_USE_HISTORY, SUBSTANCE_USE_CURRENT][x.substance_use as usize];
        if x.domestic_violence {
            z += DOMESTIC_VIOLENCE;
        }
    } else {
        z += HOUSEHOLD_NOT_ASSESSED;
    }
    if x.disability == Some(true) {
        z += DISABILITY;
    }
    z += match x.days_since_last_visit {
        Some(d) => VISIT_GAP_PER_DAY * d.min(VISIT_GAP_CAP) as f64,
        None => VISIT_GAP_MISSING,
    };
    z += CASE_TYPE[x.case_type as usize];
    if let Some(n) = x.children_in_home {
        z += PER_EXTRA_CHILD * (n.min(8) - 1) as f64;
    }
    z
}

/// The logistic function.
pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline() -> TruthInputs {
        TruthInputs {
            age_days: 2000,
            sleep: Some(SLEEP_CRIB),
            case_type: 1,
            disability: Some(false),
            caregiver_age: Some(30),
            mental_health: 0,
            household_assessed: true,
            substance_use: 0,
            domestic_violence: false,
            unrelated_adult: Some(false),
            prior_reports: 0,
            prior_substantiations: Some(0),
            prior_removals: Some(0),
            children_in_home: Some(1),
            days_since_last_visit: Some(0),
        }
    }

    #[test]
    fn baseline_is_intercept_plus_case_type() {
        let z = logit(&baseline());
        assert!((z - (coef::INTERCEPT + coef::CASE_TYPE[1])).abs() < 1e-12);
    }

    #[test]
    fn infant_on_sofa_adds_age_sleep_and_interaction() {
        let x = TruthInputs {
            age_days: 60,
            sleep: Some(SLEEP_SOFA),
            ..baseline()
        };
        let want = coef::AGE_UNDER_6M + coef::INFANT_SOFA + coef::UNDER_6M_UNSAFE_EXTRA;
        assert!((logit(&x) - logit(&baseline()) - want).abs() < 1e-12);
    }

    #[test]
    fn older_child_unsafe_sleep_is_small() {
        let x = TruthInputs {
            sleep: Some(SLEEP_SOFA),
            ..baseline()
        };
        assert!((logit(&x) - logit(&baseline()) - coef::OLDER_UNSAFE).abs() < 1e-12);
    }

    #[test]
    fn visit_gap_is_capped() {
        let a = TruthInputs {
            days_since_last_visit: Some(120),
            ..baseline()
        };
        let b = TruthInputs {
            days_since_last_visit: Some(365),
            ..baseline()
        };
        assert_eq!(logit(&a), logit(&b));
    }
}
