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
    add_sleep(&mut z, x);
    z += unrelated_adult_term(x);
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

/// Adds the sleep terms (both worlds) to `z`: an infant's by where it
/// sleeps, then more for unsafe sleep under 6 months; a little for an older
/// child's unsafe sleep. (Added one by one, in this order, so the first
/// world's probabilities keep their bits.)
fn add_sleep(z: &mut f64, x: &TruthInputs) {
    use coef::*;
    let unsafe_sleep =
        matches!(x.sleep, Some(s) if (SLEEP_ADULT_BED..=SLEEP_OTHER_UNSAFE).contains(&s));
    if x.age_days < 365 {
        *z += match x.sleep {
            Some(SLEEP_ADULT_BED | SLEEP_BED_SHARING) => INFANT_BED_SHARING,
            Some(SLEEP_SOFA) => INFANT_SOFA,
            Some(SLEEP_OTHER_UNSAFE) => INFANT_OTHER_UNSAFE,
            Some(SLEEP_CRIB) => 0.0,
            _ => INFANT_SLEEP_UNASSESSED,
        };
        if x.age_days < 183 && unsafe_sleep {
            *z += UNDER_6M_UNSAFE_EXTRA;
        }
    } else if unsafe_sleep {
        *z += OLDER_UNSAFE;
    }
}

/// The unrelated-adult term (both worlds; the second weighs it by case type).
fn unrelated_adult_term(x: &TruthInputs) -> f64 {
    match x.unrelated_adult {
        Some(true) => coef::UNRELATED_ADULT,
        Some(false) => 0.0,
        None => coef::UNRELATED_ADULT_MISSING,
    }
}

/// Which ground truth a generated world's outcomes are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum RiskWorld {
    /// The first world: risk in the shapes of safeflag's standard feature
    /// spec (age bands, a linear visit gap, any-or-none counts), [`logit`].
    #[default]
    Banded,
    /// The second world: risk the feature spec does not mirror, peaking
    /// inside the first months, with hinges, caps, household factors that
    /// depend on the case type, and effects the spec does not name,
    /// [`curved::logit`].
    Curved,
}

impl RiskWorld {
    /// The true log-odds of a row in this world.
    pub fn logit(self, x: &TruthInputs) -> f64 {
        match self {
            RiskWorld::Banded => logit(x),
            RiskWorld::Curved => curved::logit(x),
        }
    }

    /// The name on the command line and in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskWorld::Banded => "banded",
            RiskWorld::Curved => "curved",
        }
    }
}

/// The second world's truth: the same risk factors with the same
/// direction and about the same strength as the first, in shapes the
/// feature spec does not have (docs/synthetic-data.md, "The second world").
pub mod curved {
    use super::{TruthInputs, coef};

    /// Chosen so that prevalence is about 1.5% on the generator's mix.
    pub const INTERCEPT: f64 = -8.73;
    /// Height of the infant peak (log-odds) ...
    pub const PEAK: f64 = 2.0;
    /// ... at this age in days ...
    pub const PEAK_AGE_DAYS: f64 = 75.0;
    /// ... with this width on the log scale of age.
    pub const PEAK_WIDTH: f64 = 0.7;
    /// Newborn risk, fading over the first year (e-folding in days).
    pub const NEWBORN: f64 = 0.8;
    /// Its e-folding age, in days.
    pub const NEWBORN_DAYS: f64 = 365.0;
    /// Risk falls with every year of age, to 17.
    pub const PER_YEAR: f64 = -0.06;
    /// The visit gap counts from this many days ...
    pub const VISIT_GAP_FROM: i64 = 21;
    /// ... by this much a day ...
    pub const VISIT_GAP_PER_DAY: f64 = 0.02;
    /// ... up to this many days (then flat).
    pub const VISIT_GAP_TO: i64 = 111;
    /// Per year of caregiver age below 21.
    pub const YOUNG_PER_YEAR: f64 = 0.25;
    /// Per year of caregiver age above 40.
    pub const OLDER_PER_YEAR: f64 = 0.03;
    /// Per earlier removal, counted up to three.
    pub const PER_REMOVAL: f64 = 0.45;
    /// Removals counted at most.
    pub const REMOVALS_CAP: i64 = 3;
    /// Earlier reports: any, and per `ln(1 + reports)` with reports capped at six.
    pub const ANY_REPORT: f64 = 0.9;
    /// See [`ANY_REPORT`].
    pub const LOG_REPORTS: f64 = 0.5;
    /// See [`ANY_REPORT`].
    pub const REPORTS_CAP: i64 = 6;
    /// The household factors' weight by case type (investigation, in-home,
    /// out-of-home): a child placed out of the home is largely shielded
    /// from the parents' household.
    pub const HOUSEHOLD_BY_CASE_TYPE: [f64; 3] = [1.2, 1.0, 0.25];
    /// Disability: in an infant, whose care is intensive anyway, less.
    pub const DISABILITY_INFANT: f64 = 0.4;
    /// An infant in a home with four or more children (not named by the spec).
    pub const INFANT_CROWDED: f64 = 0.35;

    /// The age term: a peak inside the first months, a newborn term that
    /// fades, and a fall with every year.
    pub fn age_term(age_days: i64) -> f64 {
        let a = age_days.max(0) as f64;
        let u = ((1.0 + a).ln() - PEAK_AGE_DAYS.ln()) / PEAK_WIDTH;
        PEAK * (-0.5 * u * u).exp()
            + NEWBORN * (-a / NEWBORN_DAYS).exp()
            + PER_YEAR * (a / 365.25).min(17.0)
    }

    /// The true log-odds of a critical incident for one row.
    pub fn logit(x: &TruthInputs) -> f64 {
        let mut z = INTERCEPT + age_term(x.age_days);
        let infant = x.age_days < 365;
        // Sleep as in the first world (the spec names infant x sleep).
        super::add_sleep(&mut z, x);
        let household = HOUSEHOLD_BY_CASE_TYPE[x.case_type as usize];
        z += household * super::unrelated_adult_term(x);
        if x.household_assessed {
            let mut h = [
                0.0,
                coef::MENTAL_HEALTH_HISTORY,
                coef::MENTAL_HEALTH_CURRENT,
            ][x.mental_health as usize];
            h += [
                0.0,
                coef::SUBSTANCE_USE_HISTORY,
                coef::SUBSTANCE_USE_CURRENT,
            ][x.substance_use as usize];
            if x.domestic_violence {
                h += coef::DOMESTIC_VIOLENCE;
            }
            z += household * h;
        } else {
            z += household * coef::HOUSEHOLD_NOT_ASSESSED;
        }
        if let Some(age) = x.caregiver_age {
            z += YOUNG_PER_YEAR * (21 - age).max(0) as f64
                + OLDER_PER_YEAR * (age - 40).max(0) as f64;
        }
        if x.prior_reports > 0 {
            z += ANY_REPORT;
        }
        z += LOG_REPORTS * (x.prior_reports.min(REPORTS_CAP) as f64).ln_1p();
        if x.prior_substantiations.unwrap_or(0) > 0 {
            z += coef::ANY_PRIOR_SUBSTANTIATION;
        }
        z += PER_REMOVAL * x.prior_removals.unwrap_or(0).min(REMOVALS_CAP) as f64;
        if x.disability == Some(true) {
            z += if infant {
                DISABILITY_INFANT
            } else {
                coef::DISABILITY
            };
        }
        z += match x.days_since_last_visit {
            Some(d) => {
                VISIT_GAP_PER_DAY * (d.clamp(VISIT_GAP_FROM, VISIT_GAP_TO) - VISIT_GAP_FROM) as f64
            }
            None => coef::VISIT_GAP_MISSING,
        };
        z += coef::CASE_TYPE[x.case_type as usize];
        if let Some(n) = x.children_in_home {
            z += coef::PER_EXTRA_CHILD * (n.min(8) - 1) as f64;
            if infant && n >= 4 {
                z += INFANT_CROWDED;
            }
        }
        z
    }
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

    #[test]
    fn the_curved_world_peaks_inside_the_first_months_and_bends() {
        let at = |age_days| curved::age_term(age_days);
        // The peak is between two and three months, above birth and 6 months.
        let peak = (0..365).max_by(|&a, &b| at(a).total_cmp(&at(b))).unwrap();
        assert!((55..95).contains(&peak), "{peak}");
        assert!(at(peak) > at(0) + 1.0 && at(peak) > at(183) + 1.0);
        // Keeps falling after three years (one band in the spec).
        assert!(at(3 * 365) > at(8 * 365) + 0.25);
        let base = TruthInputs {
            caregiver_age: Some(30),
            ..baseline()
        };
        let w = RiskWorld::Curved;
        let with = |x: TruthInputs| w.logit(&x) - w.logit(&base);
        // The visit gap counts only from 21 days and stops at 111.
        let gap = |d| {
            with(TruthInputs {
                days_since_last_visit: Some(d),
                ..base
            })
        };
        assert!(gap(20).abs() < 1e-12);
        assert!((gap(61) - 40.0 * curved::VISIT_GAP_PER_DAY).abs() < 1e-12);
        assert!((gap(500) - gap(111)).abs() < 1e-12);
        // Removals count up to three.
        let removals = |n| {
            with(TruthInputs {
                prior_removals: Some(n),
                ..base
            })
        };
        assert!((removals(2) - 2.0 * curved::PER_REMOVAL).abs() < 1e-12);
        assert!((removals(7) - removals(3)).abs() < 1e-12);
        // A household factor weighs a quarter as much for a child out of the home.
        let dv = |case_type| {
            let b = TruthInputs { case_type, ..base };
            w.logit(&TruthInputs {
                domestic_violence: true,
                ..b
            }) - w.logit(&b)
        };
        assert!((dv(2) - 0.25 * dv(1)).abs() < 1e-12);
        assert!((dv(1) - coef::DOMESTIC_VIOLENCE).abs() < 1e-12);
        // Caregiver age bends both ways.
        let cg = |a| {
            with(TruthInputs {
                caregiver_age: Some(a),
                ..base
            })
        };
        assert!((cg(17) - 4.0 * curved::YOUNG_PER_YEAR).abs() < 1e-12);
        assert!((cg(50) - 10.0 * curved::OLDER_PER_YEAR).abs() < 1e-12);
        // The first world is the default and is unchanged.
        assert_eq!(RiskWorld::default().logit(&base), logit(&base));
    }
}
