//! Reasons in plain words, and the coaching prompt they lead to.
//!
//! A reason is a feature that pushed this child's score up: its contribution
//! to the log-odds (exact `w_j (x_j - mean_j)` for logistic regression,
//! TreeSHAP for trees) is positive, and it is among the three largest. Its
//! words come from the feature spec's label. Prompts map features to
//! practice (infant + unsafe sleep -> safe-sleep education at the next visit)
//! from an editable TOML file. The shipped prompts are built into safeflag
//! ([`BUILTIN_PROMPTS`]), so every model scores without a file; a model
//! directory's own `coaching-prompts.toml`, or a file named in the settings,
//! overrides them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::{Error, Result};

/// Reasons shown per queued case.
pub const TOP_REASONS: usize = 3;

/// The coaching-prompt mapping.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompts {
    /// The prompt when no reason has one of its own.
    pub default: String,
    /// Feature name -> prompt.
    #[serde(default)]
    pub prompts: BTreeMap<String, String>,
}

/// The prompts shipped with safeflag, for the standard feature spec.
pub const BUILTIN_PROMPTS: &str = include_str!("coaching-prompts.toml");

/// The file name of a model directory's own prompts.
pub const PROMPTS_FILE: &str = "coaching-prompts.toml";

impl Prompts {
    /// Reads a prompts file and checks that it names only features of `feature_names`.
    pub fn from_path(path: &Path, feature_names: &[String]) -> Result<Prompts> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Prompts {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Prompts::parse(&text, path, feature_names)
    }

    /// The built-in prompts, checked against `feature_names`.
    pub fn builtin(feature_names: &[String]) -> Result<Prompts> {
        Prompts::parse(
            BUILTIN_PROMPTS,
            Path::new("(built-in prompts)"),
            feature_names,
        )
    }

    /// Parses prompts text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path, feature_names: &[String]) -> Result<Prompts> {
        let p: Prompts = toml::from_str(text).map_err(|e| Error::Prompts {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        if let Some(unknown) = p.prompts.keys().find(|k| !feature_names.contains(k)) {
            return Err(Error::Prompts {
                path: path.to_path_buf(),
                message: format!("`{unknown}` is not a feature of this model"),
            });
        }
        Ok(p)
    }

    /// The prompt for a case's reasons: each distinct prompt of its reason
    /// features, in reason order, or the default.
    pub fn for_reasons(&self, features: &[&str]) -> String {
        let mut out: Vec<&str> = Vec::new();
        for f in features {
            if let Some(p) = self.prompts.get(*f)
                && !out.contains(&p.as_str())
            {
                out.push(p);
            }
        }
        if out.is_empty() {
            self.default.clone()
        } else {
            out.join(" ")
        }
    }
}

/// Indices of the up-to-three largest positive contributions, largest first
/// (ties by feature order), never naming a factor twice: `sides[j]` lists
/// the features an interaction `j` names (its two sides, and theirs), and
/// once an interaction is a reason its sides are not ("infant under 6
/// months sleeping on a sofa" replaces "infant under 6 months"), which
/// leaves their places to the next factors.
pub fn top_reasons(contributions: &[f64], sides: &[Vec<usize>]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..contributions.len())
        .filter(|&j| contributions[j] > 0.0)
        .collect();
    idx.sort_by(|&a, &b| {
        contributions[b]
            .total_cmp(&contributions[a])
            .then(a.cmp(&b))
    });
    let named = |j: usize| sides.get(j).map_or(&[][..], Vec::as_slice);
    let mut chosen: Vec<usize> = Vec::with_capacity(TOP_REASONS);
    for j in idx {
        if chosen.len() == TOP_REASONS {
            break;
        }
        if chosen.iter().any(|&k| named(k).contains(&j)) {
            continue;
        }
        chosen.retain(|k| !named(j).contains(k));
        chosen.push(j);
    }
    chosen
}

/// For each feature of `spec`, the features it names as an interaction (its
/// sides and, for an interaction of interactions, theirs); empty otherwise.
pub fn interaction_sides(spec: &safeflag_core::FeatureSpec) -> Vec<Vec<usize>> {
    let mut sides = vec![Vec::new(); spec.features.len()];
    if let Ok(products) = spec.interactions() {
        // Each product comes after both of its sides, so theirs are known.
        for (j, l, r) in products {
            let mut s = vec![l, r];
            s.extend(sides[l].clone());
            s.extend(sides[r].clone());
            s.sort_unstable();
            s.dedup();
            sides[j] = s;
        }
    }
    sides
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_three_positive_only() {
        assert_eq!(
            top_reasons(&[0.1, -2.0, 0.5, 0.5, 0.0, 0.3], &[]),
            vec![2, 3, 5]
        );
        assert_eq!(top_reasons(&[-0.1, 0.0], &[]), Vec::<usize>::new());
    }

    #[test]
    fn an_interaction_replaces_the_factors_it_names() {
        // 0 = infant, 1 = sofa, 2 = infant x sofa, 3 = visit gap, 4 = reports.
        let sides = vec![vec![], vec![], vec![0, 1], vec![], vec![]];
        // The infant ranks first, the product second: the product stays, the
        // infant goes, and the next factors fill the places.
        assert_eq!(
            top_reasons(&[0.9, 0.1, 0.5, 0.3, 0.2], &sides),
            vec![2, 3, 4]
        );
        // A side ranked below the product is never added after it.
        assert_eq!(top_reasons(&[0.2, 0.6, 0.8, 0.1, 0.0], &sides), vec![2, 3]);
        // Without the product among the positive factors, both sides stay.
        assert_eq!(
            top_reasons(&[0.9, 0.5, -0.1, 0.3, 0.0], &sides),
            vec![0, 1, 3]
        );
        let spec = safeflag_core::FeatureSpec::standard();
        let sides = interaction_sides(&spec);
        let names = spec.names();
        let j = names
            .iter()
            .position(|n| n == "age_under_6m_x_sofa_chair")
            .unwrap();
        let named: Vec<&str> = sides[j].iter().map(|&k| names[k].as_str()).collect();
        assert_eq!(named, ["age_under_6m", "sleep_sofa_chair"]);
    }

    #[test]
    fn the_builtin_prompts_fit_the_standard_spec() {
        let names = safeflag_core::FeatureSpec::standard().names();
        let p = Prompts::builtin(&names).unwrap();
        assert!(p.prompts.contains_key("sleep_unsafe"));
        let err = Prompts::builtin(&["only_this".to_string()]).unwrap_err();
        assert!(err.to_string().contains("is not a feature of this model"));
    }

    #[test]
    fn prompts_dedupe_and_fall_back() {
        let p = Prompts {
            default: "Review the case.".into(),
            prompts: [
                ("a".to_string(), "Safe sleep.".to_string()),
                ("b".to_string(), "Safe sleep.".to_string()),
                ("c".to_string(), "Visit now.".to_string()),
            ]
            .into_iter()
            .collect(),
        };
        assert_eq!(p.for_reasons(&["a", "b", "c"]), "Safe sleep. Visit now.");
        assert_eq!(p.for_reasons(&["z"]), "Review the case.");
    }
}
