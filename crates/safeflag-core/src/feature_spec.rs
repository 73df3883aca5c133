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
    /// The product of two earlier features, by name.
    Interaction {
        /// First feature.
        left: String,
        /// Second feature.
        right: String,
    },
}

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
                Transform::AgeBand { .. } => {
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
                | Transform::Capped { column, .. } => column,
            };
            if !cols.iter().any(|x| x == c) {
                cols.push(c.clone());
            }
        }
        cols
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
