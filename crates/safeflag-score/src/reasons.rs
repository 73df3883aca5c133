//! Reasons in plain words, and the coaching prompt they lead to.
//!
//! A reason is a factor that pushed this child's score up: its contribution
//! to the log-odds (exact `w_j (x_j - mean_j)` for logistic regression,
//! TreeSHAP for trees, summed over the pieces of a factor made of several
//! features, such as an age shape) is positive, and it is among the three
//! largest. Its words come from the feature spec's label, with the child's
//! value for a shape ("age: 2 months"). Prompts map factors to
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
    /// Reads a prompts file and checks that it names only features (or
    /// factors) of `feature_names`.
    pub fn from_path(path: &Path, feature_names: &[String]) -> Result<Prompts> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Prompts {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Prompts::parse(&text, path, feature_names)
    }

    /// The built-in prompts of the features (and factors) in `feature_names`:
    /// they are written for every spec safeflag ships, so a model keeps
    /// those of its own factors.
    pub fn builtin(feature_names: &[String]) -> Result<Prompts> {
        let mut p: Prompts = toml::from_str(BUILTIN_PROMPTS).map_err(|e| Error::Prompts {
            path: Path::new("(built-in prompts)").to_path_buf(),
            message: e.message().to_string(),
        })?;
        p.prompts.retain(|k, _| feature_names.contains(k));
        Ok(p)
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

    /// The prompt for a case's reasons: each distinct prompt of its reasons,
    /// in reason order, or the default. A reason is given as the names to
    /// look up in order (a factor's own name, then its features'), and the
    /// first with a prompt gives it.
    pub fn for_reasons(&self, reasons: &[Vec<&str>]) -> String {
        let mut out: Vec<&str> = Vec::new();
        for names in reasons {
            if let Some(p) = names.iter().find_map(|n| self.prompts.get(*n))
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

/// The names prompts may be given for in a model of `spec`: its features'
/// and its factors'.
pub fn prompt_keys(spec: &safeflag_core::FeatureSpec) -> Vec<String> {
    let mut keys = spec.names();
    for f in spec.factors() {
        if !keys.contains(&f.name) {
            keys.push(f.name);
        }
    }
    keys
}

/// A spec's factors, as reasons rank them.
pub struct Factors {
    /// The factors, in matrix order of their first features.
    pub list: Vec<safeflag_core::feature_spec::Factor>,
    /// Each feature's factor.
    of_feature: Vec<usize>,
    /// For each factor, the factors its interactions name.
    sides: Vec<Vec<usize>>,
}

impl Factors {
    /// The factors of `spec`.
    pub fn of(spec: &safeflag_core::FeatureSpec) -> Factors {
        let list = spec.factors();
        let mut of_feature = vec![0; spec.features.len()];
        for (k, f) in list.iter().enumerate() {
            for &j in &f.members {
                of_feature[j] = k;
            }
        }
        // A product that is a factor of its own replaces the factors it
        // names ("infant under 6 months sleeping on a sofa" replaces "age");
        // a product inside a group only weighs its item for this child
        // (domestic violence, for an infant), and replaces nothing.
        let mut sides = vec![Vec::new(); list.len()];
        for (j, named) in interaction_sides(spec).into_iter().enumerate() {
            if spec.features[j].group.is_some() {
                continue;
            }
            let k = of_feature[j];
            for s in named {
                let f = of_feature[s];
                if f != k && !sides[k].contains(&f) {
                    sides[k].push(f);
                }
            }
        }
        Factors {
            list,
            of_feature,
            sides,
        }
    }

    /// Each factor's contribution: its features' summed.
    pub fn sum(&self, contributions: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.list.len()];
        for (j, c) in contributions.iter().enumerate() {
            out[self.of_feature[j]] += c;
        }
        out
    }

    /// The factors of a row's reasons, largest first ([`top_reasons`] over
    /// the factors' contributions).
    pub fn reasons(&self, contributions: &[f64]) -> Vec<usize> {
        top_reasons(&self.sum(contributions), &self.sides)
    }

    /// The names a factor's prompt is looked up by: its own, then its features'.
    pub fn prompt_names<'a>(
        &'a self,
        spec: &'a safeflag_core::FeatureSpec,
        factor: usize,
    ) -> Vec<&'a str> {
        let f = &self.list[factor];
        std::iter::once(f.name.as_str())
            .chain(f.members.iter().map(|&j| spec.features[j].name.as_str()))
            .collect()
    }
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
        assert!(
            !p.prompts.contains_key("age"),
            "a factor of the shaped spec only"
        );
        // Every built-in prompt is for a factor or feature of a shipped spec.
        let shaped = prompt_keys(&safeflag_core::FeatureSpec::shaped(&[(
            safeflag_core::feature_spec::Input::AgeDays,
            vec![30.0, 400.0],
        )]));
        let all: BTreeMap<String, String> =
            toml::from_str::<Prompts>(BUILTIN_PROMPTS).unwrap().prompts;
        assert!(all.contains_key("age"));
        for k in all.keys() {
            assert!(shaped.contains(k), "{k}");
        }
        assert!(
            Prompts::builtin(&["only_this".to_string()])
                .unwrap()
                .prompts
                .is_empty()
        );
        // A file of the user's own naming something else is refused.
        let err = Prompts::parse(
            "default = \"x\"\n[prompts]\nonly_this = \"y\"\n",
            Path::new("p.toml"),
            &names,
        )
        .unwrap_err();
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
        let one = |n: &'static str| vec![n];
        assert_eq!(
            p.for_reasons(&[one("a"), one("b"), one("c")]),
            "Safe sleep. Visit now."
        );
        assert_eq!(p.for_reasons(&[one("z")]), "Review the case.");
        // A factor's own name first, then its features'.
        assert_eq!(p.for_reasons(&[vec!["z", "c", "a"]]), "Visit now.");
    }

    #[test]
    fn a_shaped_factor_is_one_reason_and_its_pieces_add_up() {
        use safeflag_core::feature_spec::Input;
        let spec =
            safeflag_core::FeatureSpec::shaped(&[(Input::AgeDays, vec![30.0, 120.0, 400.0])]);
        let factors = Factors::of(&spec);
        let names = spec.names();
        let at = |n: &str| names.iter().position(|m| m == n).unwrap();
        let mut c = vec![0.0; names.len()];
        // Age in pieces (0.2 + 0.3 - 0.1), bed-sharing alone 0.35, visit gap 0.3.
        c[at("age_under_6m")] = 0.2;
        c[at("age_from_30")] = 0.3;
        c[at("age_from_120")] = -0.1;
        c[at("sleep_adult_bed_or_sharing")] = 0.35;
        c[at("visit_gap")] = 0.3;
        let top = factors.reasons(&c);
        let words: Vec<&str> = top.iter().map(|&k| factors.list[k].name.as_str()).collect();
        assert_eq!(words, ["age", "sleep_adult_bed_or_sharing", "visit_gap"]);
        assert!((factors.sum(&c)[top[0]] - 0.4).abs() < 1e-15);
        // The infant-in-a-bed product replaces both the age and the bed.
        c[at("age_under_6m_x_bed_sharing")] = 0.5;
        let top = factors.reasons(&c);
        let words: Vec<&str> = top.iter().map(|&k| factors.list[k].name.as_str()).collect();
        assert_eq!(words, ["age_under_6m_x_bed_sharing", "visit_gap"]);
        // A household item and its products with the case type are one factor,
        // looked up for prompts by its name, then its features'.
        let mh = factors
            .list
            .iter()
            .position(|f| f.name == "mental_health_current")
            .unwrap();
        assert_eq!(
            factors.prompt_names(&spec, mh),
            [
                "mental_health_current",
                "mental_health_current",
                "mental_health_current_x_case_out_of_home",
                "mental_health_current_x_case_investigation",
                "mental_health_current_x_age_under_6m",
                "mental_health_current_x_age_6_11m"
            ]
        );
        // Such a factor replaces nothing: the age stays a reason beside it.
        let mut c = vec![0.0; names.len()];
        c[at("age_from_30")] = 0.5;
        c[at("mental_health_current_x_age_under_6m")] = 0.4;
        let top = factors.reasons(&c);
        let words: Vec<&str> = top.iter().map(|&k| factors.list[k].name.as_str()).collect();
        assert_eq!(words, ["age", "mental_health_current"]);
    }
}
