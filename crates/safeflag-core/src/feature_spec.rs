//! The declarative feature spec.
//!
//! A model is trained on features and must be scored on exactly the same
//! features. Writing the features as data (this spec) rather than as code
//! means the spec can be saved inside the model artifact and replayed at
//! scoring time: the nightly job computes what the model was trained on, not
//! what today's code happens to compute (no train/serve skew).

use serde::{Deserialize, Serialize};

/// Version of the spec format.
pub const SPEC_VERSION: u32 = 1;

/// How one feature is computed from contract columns. Every feature is a
/// number; a missing input gives 0 unless the transform is about missingness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transform {
    /// 1 when the child's age in days at the snapshot is in `[min_days, max_days)`.
    AgeBand {
        /// Lower bound, inclusive.
        min_days: i64,
        /// Upper bound, exclusive (`None`: no upper bound).
        max_days: Option<i64>,
    },
    /// 1 when a coded column holds one of `codes` (or, with `or_missing`, is missing).
    Code {
        /// Contract column.
        column: String,
        /// Canonical codes.
        codes: Vec<String>,
        /// Count a missing value as a match too.
        #[serde(default)]
        or_missing: bool,
    },
    /// 1 when a boolean column is true.
    IsTrue {
        /// Contract column.
        column: String,
    },
    /// 1 when the column is missing.
    Missing {
        /// Contract column.
        column: String,
    },
    /// 1 when a numeric column is above 0.
    Positive {
        /// Contract column.
        column: String,
    },
    /// 1 when a numeric column is below `threshold`.
    Below {
        /// Contract column.
        column: String,
        /// Threshold, exclusive.
        threshold: f64,
    },
    /// `ln(1 + value)`.
    Log1p {
        /// Contract column.
        column: String,
    },
    /// `min(value, cap) / cap`, in 0..=1.
    Capped {
        /// Contract column.
        column: String,
        /// The cap.
        cap: f64,
    },
    /// A piece of a piecewise-linear shape: `(clamp(x, from, to) - from) /
    /// (to - from)`, a ramp from 0 at `from` to 1 at `to`, and 0 when the
    /// input is missing. Ramps between consecutive knots chosen from the
    /// training data add up to any bent line that is flat beyond the last
    /// knot (so an extreme value counts no more than it).
    Hinge {
        /// What the piece reads.
        input: Input,
        /// The knot: the piece is 0 up to it.
        from: f64,
        /// Where the piece stops rising (above `from`).
        to: f64,
    },
    /// The product of two earlier features, by name.
    Interaction {
        /// First feature.
        left: String,
        /// Second feature.
        right: String,
    },
}

/// The number a [`Transform::Hinge`] reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// The child's age in days at the snapshot.
    AgeDays,
    /// A numeric contract column.
    Column(String),
}

impl Input {
    /// How a person reads the input's value `v`: an age in days, weeks,
    /// months or years; a day count with its unit; a count as it is.
    pub fn words(&self, v: f64) -> String {
        let n = v.max(0.0).floor();
        let plural = |n: f64, unit: &str| {
            if n == 1.0 {
                format!("1 {unit}")
            } else {
                format!("{n} {unit}s")
            }
        };
        match self {
            Input::AgeDays if n < 28.0 => plural(n, "day"),
            Input::AgeDays if n < 730.0 => plural((n / 30.4375).floor().max(1.0), "month"),
            Input::AgeDays => plural((n / 365.25).floor(), "year"),
            Input::Column(c) if c.contains("days") => plural(n, "day"),
            Input::Column(_) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
            Input::Column(_) => format!("{v}"),
        }
    }
}

/// A factor as reasons name it: one feature, or a group of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    /// The group's name, or the feature's.
    pub name: String,
    /// Its words: the first member's label, or for a shape its input's
    /// name, to be followed by the child's value ([`Factor::words`]).
    pub label: String,
    /// Its features, in matrix order.
    pub members: Vec<usize>,
    /// The input of its shape, when it has one.
    pub input: Option<Input>,
}

impl Factor {
    /// The factor in plain words, with the child's value of its shape's
    /// input when it has one (`age: 2 months`).
    pub fn words(&self, value: Option<f64>) -> String {
        match (&self.input, value) {
            (Some(input), Some(v)) => format!("{}: {}", self.label, input.words(v)),
            (Some(_), None) => format!("{}: not recorded", self.label),
            (None, _) => self.label.clone(),
        }
    }
}

/// A shaped input of [`FeatureSpec::shaped`]: its factor's name and words,
/// and the standard features that read it (grouped with its pieces).
pub struct ShapedInput {
    /// The factor's name.
    pub group: &'static str,
    /// The contract column read (`None`: the child's age in days).
    pub column: Option<&'static str>,
    /// The factor's words, before the child's value.
    pub label: &'static str,
    /// The standard features in the factor.
    pub members: &'static [&'static str],
}

impl ShapedInput {
    /// What the shape reads.
    pub fn input(&self) -> Input {
        self.column
            .map_or(Input::AgeDays, |c| Input::Column(c.to_string()))
    }
}

/// The inputs the shaped spec bends.
pub const SHAPED_INPUTS: [ShapedInput; 6] = [
    ShapedInput {
        group: "age",
        column: None,
        label: "age",
        members: &["age_under_6m", "age_6_11m", "age_1_2y"],
    },
    ShapedInput {
        group: "visit_gap",
        column: Some("days_since_last_visit"),
        label: "time since the last home visit",
        members: &["visit_gap"],
    },
    ShapedInput {
        group: "caregiver_age",
        column: Some("caregiver_age"),
        label: "caregiver age",
        members: &["young_caregiver"],
    },
    ShapedInput {
        group: "prior_reports",
        column: Some("prior_reports"),
        label: "earlier maltreatment reports",
        members: &["any_prior_report", "log_prior_reports"],
    },
    ShapedInput {
        group: "prior_removals",
        column: Some("prior_removals"),
        label: "earlier removals of a child",
        members: &["any_prior_removal"],
    },
    ShapedInput {
        group: "children_in_home",
        column: Some("children_in_home"),
        label: "children in the home",
        members: &["children_in_home"],
    },
];

/// Earlier substantiations, the one count the shaped spec leaves in its
/// standard form and the raw spec reads as a number too.
pub static SUBSTANTIATIONS: ShapedInput = ShapedInput {
    group: "prior_substantiations",
    column: Some("prior_substantiations"),
    label: "earlier substantiated reports",
    members: &["any_prior_substantiation"],
};

/// The numeric inputs the raw spec ([`FeatureSpec::raw`]) reads as numbers:
/// every shaped input, and the substantiations.
pub fn raw_inputs() -> impl Iterator<Item = &'static ShapedInput> {
    SHAPED_INPUTS
        .iter()
        .chain(std::iter::once(&SUBSTANTIATIONS))
}

/// The household items whose weight the shaped spec lets depend on the case type.
pub const HOUSEHOLD_ITEMS: [&str; 7] = [
    "mental_health_current",
    "mental_health_history",
    "substance_use_current",
    "substance_use_history",
    "domestic_violence",
    "unrelated_adult",
    "household_not_assessed",
];

/// The items whose weight the shaped spec lets depend on infancy.
pub const INFANT_MODIFIED: [&str; 8] = [
    "disability",
    "children_in_home",
    "domestic_violence",
    "mental_health_current",
    "substance_use_current",
    "unrelated_adult",
    "any_prior_report",
    "visit_gap",
];

/// One named feature.
// No `deny_unknown_fields` here: serde does not support it with `flatten`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDef {
    /// Stable identifier (snake_case).
    pub name: String,
    /// What the feature means in plain words, used for reasons ("infant under 6 months").
    pub label: String,
    /// How it is computed.
    #[serde(flatten)]
    pub transform: Transform,
    /// The factor the feature is reported under, when it is one of several
    /// pieces of one (an age shape, a household item and its products with
    /// the case type): reasons and explanations add up the pieces'
    /// contributions and name the factor once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// The ordered list of features a model uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// Spec format version.
    pub version: u32,
    /// Features, in matrix column order.
    pub features: Vec<FeatureDef>,
}

impl FeatureSpec {
    /// Feature names in matrix order.
    pub fn names(&self) -> Vec<String> {
        self.features.iter().map(|f| f.name.clone()).collect()
    }

    /// Each interaction as `(its column, its left side's, its right side's)`,
    /// in matrix order; an error naming the feature when a side is not a
    /// feature defined before it.
    pub fn interactions(&self) -> Result<Vec<(usize, usize, usize)>, String> {
        let mut out = Vec::new();
        for (j, f) in self.features.iter().enumerate() {
            let Transform::Interaction { left, right } = &f.transform else {
                continue;
            };
            let before = |name: &str| self.features[..j].iter().position(|g| g.name == name);
            match (before(left), before(right)) {
                (Some(l), Some(r)) => out.push((j, l, r)),
                _ => {
                    return Err(format!(
                        "feature `{}` multiplies `{left}` and `{right}`, which must both be defined before it",
                        f.name
                    ));
                }
            }
        }
        Ok(out)
    }

    /// The contract columns the spec reads.
    pub fn input_columns(&self) -> Vec<String> {
        let mut cols: Vec<String> = Vec::new();
        for f in &self.features {
            let c = match &f.transform {
                Transform::AgeBand { .. }
                | Transform::Hinge {
                    input: Input::AgeDays,
                    ..
                } => {
                    for c in ["snapshot_date", "child_birth_date"] {
                        if !cols.iter().any(|x| x == c) {
                            cols.push(c.to_string());
                        }
                    }
                    continue;
                }
                Transform::Interaction { .. } => continue,
                Transform::Code { column, .. }
                | Transform::IsTrue { column }
                | Transform::Missing { column }
                | Transform::Positive { column }
                | Transform::Below { column, .. }
                | Transform::Log1p { column }
                | Transform::Capped { column, .. }
                | Transform::Hinge {
                    input: Input::Column(column),
                    ..
                } => column,
            };
            if !cols.iter().any(|x| x == c) {
                cols.push(c.clone());
            }
        }
        cols
    }

    /// The factors reasons and explanations name: each group of features
    /// once (at its first member's place), and every feature outside a group
    /// on its own, in matrix order.
    pub fn factors(&self) -> Vec<Factor> {
        let mut out: Vec<Factor> = Vec::new();
        for (j, f) in self.features.iter().enumerate() {
            let name = f.group.as_deref().unwrap_or(&f.name);
            let hinge = match &f.transform {
                Transform::Hinge { input, .. } => Some(input.clone()),
                _ => None,
            };
            match out.iter_mut().find(|g| f.group.is_some() && g.name == name) {
                Some(g) => {
                    g.members.push(j);
                    if g.input.is_none() && hinge.is_some() {
                        g.input = hinge;
                        g.label = f.label.clone();
                    }
                }
                None => out.push(Factor {
                    name: name.to_string(),
                    label: f.label.clone(),
                    members: vec![j],
                    input: hinge,
                }),
            }
        }
        out
    }

    /// The spec of [`FeatureSpec::standard`] with shapes: each input of
    /// `shapes` gets one [`Transform::Hinge`] per interval between its
    /// sorted knots (the last knot where the shape goes flat), grouped with the standard
    /// features that read the same input into one factor; and each household
    /// item gets its products with the case types, grouped with it, because
    /// a child placed out of the home is largely shielded from the parents'
    /// household.
    pub fn shaped(shapes: &[(Input, Vec<f64>)]) -> FeatureSpec {
        let mut spec = FeatureSpec::standard();
        for f in &mut spec.features {
            f.group = SHAPED_INPUTS
                .iter()
                .find(|s| s.members.contains(&f.name.as_str()))
                .map(|s| s.group.to_string());
        }
        for (input, knots) in shapes {
            let Some(shape) = SHAPED_INPUTS.iter().find(|s| s.input() == *input) else {
                continue;
            };
            // One ramp per interval between consecutive knots: its weight
            // is the change in log-odds across the interval, of the same
            // size for a week of infancy as for a decade of childhood. (A
            // hinge from each knot to the end would need weights in the
            // hundreds to bend within the first weeks, which the penalty on
            // the standardised weights forbids.)
            for pair in knots.windows(2) {
                spec.push_ramp(
                    shape,
                    pair[0],
                    pair[1],
                    format!("{}_from_{}", shape.group, pair[0]),
                );
            }
        }
        for item in HOUSEHOLD_ITEMS {
            spec.features
                .iter_mut()
                .filter(|f| f.name == item)
                .for_each(|f| f.group = Some(item.to_string()));
            spec.push_products(
                item,
                &[
                    ("case_out_of_home", "child placed out of the home"),
                    ("case_investigation", "case under investigation"),
                ],
            );
        }
        // Infancy changes how much other factors weigh (an infant is
        // wholly dependent on the household around it): each item's
        // products with the two infant bands, grouped with the item.
        for item in INFANT_MODIFIED {
            spec.push_products(
                item,
                &[
                    ("age_under_6m", "infant under 6 months"),
                    ("age_6_11m", "infant aged 6-11 months"),
                ],
            );
        }
        spec
    }

    /// The spec boosted trees read: each numeric input of [`raw_inputs`] as
    /// one number (a ramp over its whole training range `ranges`, from its
    /// lowest value to where it goes flat, so an extreme value counts no
    /// more than that), and every standard feature that reads no numeric
    /// input (codes, flags, missing indicators).
    ///
    /// A tree splits a number wherever the data say, so the standard
    /// features that code a number (age bands, "any" flags, logarithms,
    /// caps) and their products hold nothing a tree cannot find in the
    /// number itself, at its own thresholds: they are left out, and each
    /// number is its own factor ("age: 2 months").
    pub fn raw(ranges: &[(Input, f64, f64)]) -> FeatureSpec {
        let standard = FeatureSpec::standard();
        let numeric: Vec<Input> = raw_inputs().map(ShapedInput::input).collect();
        let reads_number = |f: &FeatureDef| match &f.transform {
            Transform::AgeBand { .. } => true,
            Transform::Positive { column }
            | Transform::Below { column, .. }
            | Transform::Log1p { column }
            | Transform::Capped { column, .. } => numeric.contains(&Input::Column(column.clone())),
            _ => false,
        };
        let mut kept: Vec<FeatureDef> = Vec::new();
        for f in standard.features {
            let keep = match &f.transform {
                Transform::Interaction { left, right } => [left, right]
                    .iter()
                    .all(|side| kept.iter().any(|k| &k.name == *side)),
                _ => !reads_number(&f),
            };
            if keep {
                kept.push(f);
            }
        }
        let mut spec = FeatureSpec {
            version: SPEC_VERSION,
            features: kept,
        };
        for (input, from, to) in ranges {
            if let Some(shape) = raw_inputs().find(|s| s.input() == *input) {
                spec.push_ramp(shape, *from, *to, format!("{}_value", shape.group));
            }
        }
        spec
    }

    /// Appends the ramp of `shape`'s input from `from` to `to`, named
    /// `name`, in the shape's factor; nothing unless `from < to` (a NaN
    /// bound, never chosen, gives nothing too).
    fn push_ramp(&mut self, shape: &ShapedInput, from: f64, to: f64, name: String) {
        if from.partial_cmp(&to) != Some(std::cmp::Ordering::Less) {
            return;
        }
        self.features.push(FeatureDef {
            name,
            label: shape.label.to_string(),
            transform: Transform::Hinge {
                input: shape.input(),
                from,
                to,
            },
            group: Some(shape.group.to_string()),
        });
    }

    /// Appends the products of feature `item` with each of `others` (a
    /// feature and its words), in the item's factor: its group, or itself.
    /// An item the spec lacks gets none.
    fn push_products(&mut self, item: &str, others: &[(&str, &str)]) {
        let Some(def) = self.features.iter().find(|f| f.name == item).cloned() else {
            return;
        };
        for (other, words) in others {
            self.features.push(FeatureDef {
                name: format!("{item}_x_{other}"),
                label: format!("{}, {words}", def.label),
                transform: Transform::Interaction {
                    left: item.to_string(),
                    right: other.to_string(),
                },
                group: Some(def.group.clone().unwrap_or_else(|| item.to_string())),
            });
        }
    }

    /// The default spec: the risk factors of `shared/domain.md` as features.
    ///
    /// `child_race_ethnicity` is never an input (it is for the fairness audit
    /// only), and neither is `child_sex`: no published effect supports it.
    pub fn standard() -> FeatureSpec {
        let mut f = Vec::new();
        let mut add = |name: &str, label: &str, transform: Transform| {
            f.push(FeatureDef {
                name: name.into(),
                label: label.into(),
                transform,
                group: None,
            });
        };
        let code = |column: &str, codes: &[&str]| Transform::Code {
            column: column.into(),
            codes: codes.iter().map(|c| c.to_string()).collect(),
            or_missing: false,
        };
        let inter = |l: &str, r: &str| Transform::Interaction {
            left: l.into(),
            right: r.into(),
        };
        let col = |c: &str| c.to_string();

        add(
            "age_under_6m",
            "infant under 6 months",
            Transform::AgeBand {
                min_days: 0,
                max_days: Some(183),
            },
        );
        add(
            "age_6_11m",
            "infant aged 6-11 months",
            Transform::AgeBand {
                min_days: 183,
                max_days: Some(365),
            },
        );
        add(
            "age_1_2y",
            "child aged 1-2 years",
            Transform::AgeBand {
                min_days: 365,
                max_days: Some(1095),
            },
        );

        add(
            "sleep_unsafe",
            "sleeps somewhere unsafe",
            code(
                "sleep_environment",
                &["adult_bed", "bed_sharing", "sofa_chair", "other_unsafe"],
            ),
        );
        add(
            "sleep_unassessed",
            "sleep place not assessed",
            Transform::Code {
                column: col("sleep_environment"),
                codes: vec![col("unknown"), col("not_assessed")],
                or_missing: true,
            },
        );
        add(
            "sleep_adult_bed_or_sharing",
            "sleeps in an adult bed or shares a bed",
            code("sleep_environment", &["adult_bed", "bed_sharing"]),
        );
        add(
            "sleep_sofa_chair",
            "sleeps on a sofa or chair",
            code("sleep_environment", &["sofa_chair"]),
        );
        add(
            "sleep_other_unsafe",
            "sleeps in another unsafe place",
            code("sleep_environment", &["other_unsafe"]),
        );
        for (band, band_label) in [
            ("age_under_6m", "infant under 6 months"),
            ("age_6_11m", "infant 6-11 months"),
        ] {
            add(
                &format!("{band}_x_bed_sharing"),
                &format!("{band_label} in an adult bed or sharing a bed"),
                inter(band, "sleep_adult_bed_or_sharing"),
            );
            add(
                &format!("{band}_x_sofa_chair"),
                &format!("{band_label} sleeping on a sofa or chair"),
                inter(band, "sleep_sofa_chair"),
            );
            add(
                &format!("{band}_x_other_unsafe"),
                &format!("{band_label} sleeping in another unsafe place"),
                inter(band, "sleep_other_unsafe"),
            );
            add(
                &format!("{band}_x_sleep_unassessed"),
                &format!("{band_label} whose sleep place is not assessed"),
                inter(band, "sleep_unassessed"),
            );
        }

        add(
            "case_investigation",
            "case under investigation",
            code("case_type", &["investigation"]),
        );
        add(
            "case_out_of_home",
            "child placed out of the home",
            code("case_type", &["out_of_home"]),
        );
        add(
            "disability",
            "disability or medically complex",
            Transform::IsTrue {
                column: col("child_disability"),
            },
        );
        add(
            "disability_missing",
            "disability not recorded",
            Transform::Missing {
                column: col("child_disability"),
            },
        );
        add(
            "young_caregiver",
            "caregiver under 20",
            Transform::Below {
                column: col("caregiver_age"),
                threshold: 20.0,
            },
        );
        add(
            "caregiver_age_missing",
            "caregiver age not recorded",
            Transform::Missing {
                column: col("caregiver_age"),
            },
        );
        add(
            "mental_health_current",
            "current caregiver mental-health concern",
            code("parental_mental_health", &["current"]),
        );
        add(
            "mental_health_history",
            "caregiver mental-health history",
            code("parental_mental_health", &["history"]),
        );
        add(
            "substance_use_current",
            "current caregiver substance use",
            code("parental_substance_use", &["current"]),
        );
        add(
            "substance_use_history",
            "caregiver substance-use history",
            code("parental_substance_use", &["history"]),
        );
        add(
            "domestic_violence",
            "domestic violence in the household",
            Transform::IsTrue {
                column: col("domestic_violence"),
            },
        );
        add(
            "household_not_assessed",
            "household not yet assessed",
            Transform::Missing {
                column: col("parental_mental_health"),
            },
        );
        add(
            "unrelated_adult",
            "unrelated adult living in the home",
            Transform::IsTrue {
                column: col("unrelated_adult_in_home"),
            },
        );
        add(
            "unrelated_adult_missing",
            "household adults not recorded",
            Transform::Missing {
                column: col("unrelated_adult_in_home"),
            },
        );
        add(
            "any_prior_report",
            "earlier maltreatment reports",
            Transform::Positive {
                column: col("prior_reports"),
            },
        );
        add(
            "log_prior_reports",
            "many earlier reports",
            Transform::Log1p {
                column: col("prior_reports"),
            },
        );
        add(
            "any_prior_substantiation",
            "earlier substantiated report",
            Transform::Positive {
                column: col("prior_substantiations"),
            },
        );
        add(
            "prior_substantiations_missing",
            "substantiation history not recorded",
            Transform::Missing {
                column: col("prior_substantiations"),
            },
        );
        add(
            "any_prior_removal",
            "earlier removal of a child",
            Transform::Positive {
                column: col("prior_removals"),
            },
        );
        add(
            "prior_removals_missing",
            "removal history not recorded",
            Transform::Missing {
                column: col("prior_removals"),
            },
        );
        add(
            "visit_gap",
            "long gap since the last home visit",
            Transform::Capped {
                column: col("days_since_last_visit"),
                cap: 120.0,
            },
        );
        add(
            "visit_gap_missing",
            "no recorded home visit",
            Transform::Missing {
                column: col("days_since_last_visit"),
            },
        );
        add(
            "children_in_home",
            "many children in the home",
            Transform::Capped {
                column: col("children_in_home"),
                cap: 8.0,
            },
        );
        add(
            "children_in_home_missing",
            "household size not recorded",
            Transform::Missing {
                column: col("children_in_home"),
            },
        );

        FeatureSpec {
            version: SPEC_VERSION,
            features: f,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interactions_name_their_sides_or_the_feature_that_breaks_the_order() {
        let spec = FeatureSpec::standard();
        let products = spec.interactions().unwrap();
        assert!(!products.is_empty());
        for (j, l, r) in products {
            assert!(l < j && r < j);
            let Transform::Interaction { left, right } = &spec.features[j].transform else {
                panic!("{j} is not an interaction");
            };
            assert_eq!(
                (&spec.features[l].name, &spec.features[r].name),
                (left, right)
            );
        }
        // A product moved before one of its sides is refused by name.
        let mut bad = spec.clone();
        let j = bad
            .features
            .iter()
            .position(|f| matches!(f.transform, Transform::Interaction { .. }))
            .unwrap();
        let product = bad.features.remove(j);
        bad.features.insert(0, product.clone());
        let err = bad.interactions().unwrap_err();
        assert!(
            err.contains(&format!("feature `{}`", product.name)),
            "{err}"
        );
    }

    #[test]
    fn standard_spec_names_are_unique_and_never_use_race_or_sex() {
        let spec = FeatureSpec::standard();
        let mut names = spec.names();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), spec.features.len());
        let inputs = spec.input_columns();
        assert!(
            !inputs
                .iter()
                .any(|c| c == "child_race_ethnicity" || c == "child_sex")
        );
        assert!(
            inputs.iter().all(|c| crate::contract::column(c).is_some()),
            "{inputs:?}"
        );
    }

    #[test]
    fn spec_round_trips_through_json() {
        let spec = FeatureSpec::standard();
        let json = serde_json::to_string(&spec).unwrap();
        assert!(json.contains(r#""kind":"age_band""#), "{json}");
        let back: FeatureSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(back, spec);
        let bad = json.replacen(r#""kind":"age_band""#, r#""kind":"age_bands""#, 1);
        assert!(serde_json::from_str::<FeatureSpec>(&bad).is_err());
    }
}
