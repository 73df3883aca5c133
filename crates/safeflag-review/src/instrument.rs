//! The review instrument: the practice items a reviewer rates for a flagged
//! case, the rating scale, when each item applies, and the family's
//! protective factors the reviewer records.
//!
//! Agencies have their own instruments, so this is an editable TOML file
//! beside the model files (`instrument.toml`), checked on reading: a bad
//! file is refused with its path and the item at fault, never half used. It
//! carries an id and a version, which every review records, so ratings made
//! with different instruments are never mixed up. The file shipped in
//! `models/default/` is built in as well, for a model directory without one.

use std::path::Path;

use safeflag_core::contract::CASE_TYPES;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A model directory's own instrument file.
pub const INSTRUMENT_FILE: &str = "instrument.toml";

/// The instrument shipped in `models/default/`, built in.
pub const BUILTIN_INSTRUMENT: &str = include_str!("../../../models/default/instrument.toml");

/// Excel holds a drop-down's choices in one formula of at most 255 characters.
const LIST_LIMIT: usize = 255;

/// A review instrument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    /// Names the instrument (letters, digits, `-`, `_`, `.`).
    pub id: String,
    /// Raised whenever an item, its wording or the scale changes.
    pub version: String,
    /// The title reviewers see.
    pub title: String,
    /// The rating scale, in the order a drop-down offers it.
    pub scale: Vec<Rating>,
    /// The items, in the order a reviewer reads them.
    pub items: Vec<Item>,
    /// Protective factors a reviewer can record as present.
    #[serde(default)]
    pub protective_factors: Vec<ProtectiveFactor>,
}

/// One point of the rating scale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// What the history stores (`snake_case`).
    pub code: String,
    /// What a reviewer picks.
    pub label: String,
    /// This is the answer for an item with no subject in this case.
    #[serde(default)]
    pub not_applicable: bool,
}

/// One practice item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Stable id (`snake_case`), what the history stores.
    pub id: String,
    /// The practice domain it belongs to.
    pub domain: String,
    /// The question the reviewer answers.
    pub question: String,
    /// What to look for.
    pub guidance: String,
    /// When it applies (every case if empty).
    #[serde(default)]
    pub applies: Applies,
}

/// When an item applies: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Applies {
    /// A child of the case is younger than this many days on the snapshot date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub youngest_under_days: Option<u32>,
    /// The case is one of these types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_types: Option<Vec<String>>,
}

/// A protective factor (Strengthening Families).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtectiveFactor {
    /// Stable id (`snake_case`).
    pub id: String,
    /// What a reviewer reads.
    pub label: String,
    /// How the coaching builds on it.
    pub prompt: String,
}

/// The facts of one case that decide which items apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseFacts<'a> {
    /// The case's type (a contract code).
    pub case_type: &'a str,
    /// The age in days of the case's youngest child on the snapshot date
    /// (`None` when no child has a birth date).
    pub youngest_age_days: Option<i64>,
}

impl Item {
    /// Whether the item applies to a case. An age condition on a case with
    /// no known ages applies: a reviewer can answer "not applicable", but an
    /// item never asked cannot be answered.
    pub fn applies_to(&self, case: &CaseFacts<'_>) -> bool {
        let age = match (self.applies.youngest_under_days, case.youngest_age_days) {
            (Some(limit), Some(age)) => age < i64::from(limit),
            _ => true,
        };
        let ty = self
            .applies
            .case_types
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t == case.case_type));
        age && ty
    }
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Text a spreadsheet would read as a formula if it began a cell.
fn formula_like(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

impl Instrument {
    /// The built-in instrument (`models/default/instrument.toml`).
    pub fn builtin() -> Instrument {
        Instrument::parse(BUILTIN_INSTRUMENT, Path::new("(built-in instrument)"))
            .expect("the shipped instrument is valid (a test holds it to that)")
    }

    /// A model directory's `instrument.toml`, or the built-in one when it has none.
    pub fn for_model_dir(dir: &Path) -> Result<Instrument> {
        let path = dir.join(INSTRUMENT_FILE);
        if path.exists() {
            Instrument::from_path(&path)
        } else {
            Ok(Instrument::builtin())
        }
    }

    /// Reads and checks an instrument file.
    pub fn from_path(path: &Path) -> Result<Instrument> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Instrument {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Instrument::parse(&text, path)
    }

    /// Parses and checks instrument text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Instrument> {
        let fail = |message: String| Error::Instrument {
            path: path.to_path_buf(),
            message,
        };
        let i: Instrument = toml::from_str(text).map_err(|e| fail(e.message().to_string()))?;
        i.check().map_err(fail)?;
        Ok(i)
    }

    fn check(&self) -> std::result::Result<(), String> {
        let id_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        if !id_ok(&self.id) {
            return Err("`id` must be 1-64 letters, digits, `-`, `_` or `.`".into());
        }
        if !id_ok(&self.version) {
            return Err("`version` must be 1-64 letters, digits, `-`, `_` or `.`".into());
        }
        if self.title.trim().is_empty() {
            return Err("`title` is empty".into());
        }
        if self.scale.len() < 2 {
            return Err("the scale needs at least two ratings".into());
        }
        for (n, r) in self.scale.iter().enumerate() {
            if !is_code(&r.code) {
                return Err(format!(
                    "scale entry {}: `code` must be snake_case (a-z, 0-9, _)",
                    n + 1
                ));
            }
            let label = r.label.trim();
            if label.is_empty() || label.contains(',') || formula_like(label) {
                return Err(format!(
                    "scale `{}`: `label` must be non-empty, without commas (a drop-down separates choices with them), and not begin like a formula",
                    r.code
                ));
            }
            let same = |o: &Rating| o.code == r.code || o.label.trim().eq_ignore_ascii_case(label);
            if self.scale[..n].iter().any(same) {
                return Err(format!("scale `{}`: code or label given twice", r.code));
            }
        }
        if self.scale.iter().filter(|r| r.not_applicable).count() != 1 {
            return Err("exactly one rating must be `not_applicable = true`".into());
        }
        let list: usize = self.scale.iter().map(|r| r.label.trim().len() + 1).sum();
        if list > LIST_LIMIT {
            return Err(format!(
                "the scale's labels take {list} characters; a spreadsheet drop-down holds {LIST_LIMIT}"
            ));
        }
        if self.items.is_empty() {
            return Err("the instrument has no items".into());
        }
        for (n, item) in self.items.iter().enumerate() {
            if !is_code(&item.id) {
                return Err(format!(
                    "item {}: `id` must be snake_case (a-z, 0-9, _)",
                    n + 1
                ));
            }
            if self.items[..n].iter().any(|o| o.id == item.id) {
                return Err(format!("item `{}` is given twice", item.id));
            }
            for (field, text) in [
                ("domain", &item.domain),
                ("question", &item.question),
                ("guidance", &item.guidance),
            ] {
                if text.trim().is_empty() {
                    return Err(format!("item `{}`: `{field}` is empty", item.id));
                }
            }
            if item.applies.youngest_under_days == Some(0) {
                return Err(format!(
                    "item `{}`: `youngest_under_days` must be at least 1",
                    item.id
                ));
            }
            if let Some(types) = &item.applies.case_types {
                if types.is_empty() {
                    return Err(format!("item `{}`: `case_types` is empty", item.id));
                }
                if let Some(t) = types.iter().find(|t| !CASE_TYPES.contains(&t.as_str())) {
                    return Err(format!(
                        "item `{}`: `{t}` is not a case type ({})",
                        item.id,
                        CASE_TYPES.join(", ")
                    ));
                }
            }
        }
        for (n, f) in self.protective_factors.iter().enumerate() {
            if !is_code(&f.id) {
                return Err(format!(
                    "protective factor {}: `id` must be snake_case (a-z, 0-9, _)",
                    n + 1
                ));
            }
            if self.protective_factors[..n].iter().any(|o| o.id == f.id) {
                return Err(format!("protective factor `{}` is given twice", f.id));
            }
            if f.label.trim().is_empty() || f.prompt.trim().is_empty() {
                return Err(format!(
                    "protective factor `{}`: `label` and `prompt` must not be empty",
                    f.id
                ));
            }
        }
        Ok(())
    }

    /// `id@version`, as a review records it.
    pub fn tag(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// The rating a reviewer's answer names: its label or its code, in any
    /// case, with surrounding spaces ignored.
    pub fn rating(&self, answer: &str) -> Option<&Rating> {
        let a = answer.trim();
        self.scale
            .iter()
            .find(|r| r.label.trim().eq_ignore_ascii_case(a) || r.code.eq_ignore_ascii_case(a))
    }

    /// The "not applicable" rating.
    pub fn not_applicable(&self) -> &Rating {
        self.scale
            .iter()
            .find(|r| r.not_applicable)
            .expect("a checked instrument has one")
    }

    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    /// The items that apply to a case, in instrument order.
    pub fn items_for<'a>(&'a self, case: &'a CaseFacts<'_>) -> impl Iterator<Item = &'a Item> {
        self.items.iter().filter(move |i| i.applies_to(case))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<Instrument, String> {
        Instrument::parse(text, Path::new("i.toml")).map_err(|e| e.to_string())
    }

    const SMALL: &str = r#"
id = "t"
version = "1"
title = "T"
[[scale]]
code = "yes"
label = "Yes"
[[scale]]
code = "na"
label = "N/A"
not_applicable = true
[[items]]
id = "a"
domain = "D"
question = "Q?"
guidance = "G"
"#;

    #[test]
    fn the_shipped_instrument_is_valid_and_covers_the_practice_domains() {
        let i = Instrument::builtin();
        assert_eq!(i.tag(), "safeflag-default@1");
        assert_eq!(i.not_applicable().code, "not_applicable");
        assert_eq!(i.protective_factors.len(), 5);
        let domains: std::collections::BTreeSet<&str> =
            i.items.iter().map(|i| i.domain.as_str()).collect();
        for d in [
            "Family engagement",
            "Purposeful visitation",
            "Family-centered assessment",
            "Supervision and management",
            "Initial and ongoing assessment of safety and risk",
            "Effective case planning",
            "Individualizing services",
        ] {
            assert!(domains.contains(d), "{d}");
        }
    }

    #[test]
    fn items_apply_by_the_youngest_childs_age_and_the_case_type() {
        let i = Instrument::builtin();
        let ids = |case_type: &str, age: Option<i64>| -> Vec<String> {
            let c = CaseFacts {
                case_type,
                youngest_age_days: age,
            };
            i.items_for(&c).map(|i| i.id.clone()).collect()
        };
        let infant = ids("in_home", Some(364));
        assert!(infant.contains(&"safe_sleep_education".into()));
        assert!(infant.contains(&"services_in_home".into()));
        let toddler = ids("in_home", Some(365));
        assert!(!toddler.contains(&"safe_sleep_education".into()));
        let foster = ids("out_of_home", Some(2000));
        assert!(!foster.contains(&"safety_plan".into()));
        assert!(!foster.contains(&"services_in_home".into()));
        assert!(foster.contains(&"case_planning".into()));
        let investigation = ids("investigation", None);
        assert!(investigation.contains(&"safety_plan".into()));
        assert!(!investigation.contains(&"case_planning".into()));
        // No known age: the age item is asked (the reviewer may answer n/a).
        assert!(investigation.contains(&"safe_sleep_education".into()));
    }

    #[test]
    fn answers_match_labels_or_codes_in_any_case() {
        let i = Instrument::builtin();
        assert_eq!(
            i.rating("  area needing IMPROVEMENT ").unwrap().code,
            "area_needing_improvement"
        );
        assert_eq!(i.rating("strength").unwrap().label, "Strength");
        assert!(i.rating("maybe").is_none());
        assert!(i.rating("").is_none());
    }

    #[test]
    fn a_small_instrument_parses() {
        let i = parse(SMALL).unwrap();
        assert_eq!(i.items.len(), 1);
        assert!(i.items[0].applies_to(&CaseFacts {
            case_type: "out_of_home",
            youngest_age_days: None
        }));
    }

    #[test]
    fn bad_instruments_are_refused_naming_the_fault() {
        let cases: [(&str, &str, &str); 12] = [
            ("id = \"t\"", "id = \"t t\"", "`id` must be"),
            ("version = \"1\"", "version = \"\"", "`version` must be"),
            (
                "label = \"Yes\"",
                "label = \"Yes, fully\"",
                "without commas",
            ),
            ("label = \"Yes\"", "label = \"=HYPERLINK(1)\"", "formula"),
            ("label = \"Yes\"", "label = \"n/a\"", "given twice"),
            ("not_applicable = true\n", "", "exactly one rating"),
            (
                "id = \"a\"",
                "id = \"A-1\"",
                "item 1: `id` must be snake_case",
            ),
            (
                "guidance = \"G\"",
                "guidance = \" \"",
                "item `a`: `guidance` is empty",
            ),
            (
                "guidance = \"G\"",
                "guidance = \"G\"\napplies = { case_types = [\"foster\"] }",
                "`foster` is not a case type",
            ),
            (
                "guidance = \"G\"",
                "guidance = \"G\"\napplies = { youngest_under_days = 0 }",
                "at least 1",
            ),
            (
                "guidance = \"G\"",
                "guidance = \"G\"\napplies = { father_known = true }",
                "unknown field",
            ),
            (
                "title = \"T\"",
                "title = \"T\"\nowner = \"x\"",
                "unknown field",
            ),
        ];
        for (from, to, want) in cases {
            assert!(SMALL.contains(from), "{from}");
            let err = parse(&SMALL.replacen(from, to, 1)).unwrap_err();
            assert!(err.contains(want), "{to}: {err}");
            assert!(err.starts_with("instrument `i.toml`"), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
        let twice = format!(
            "{SMALL}\n[[items]]\nid = \"a\"\ndomain = \"D\"\nquestion = \"Q\"\nguidance = \"G\"\n"
        );
        assert!(
            parse(&twice)
                .unwrap_err()
                .contains("item `a` is given twice")
        );
        let long = SMALL.replace(
            "label = \"Yes\"",
            &format!("label = \"{}\"", "y".repeat(300)),
        );
        assert!(parse(&long).unwrap_err().contains("drop-down holds 255"));
    }

    #[test]
    fn a_model_directory_without_an_instrument_uses_the_built_in_one() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Instrument::for_model_dir(dir.path()).unwrap(),
            Instrument::builtin()
        );
        std::fs::write(dir.path().join(INSTRUMENT_FILE), SMALL).unwrap();
        assert_eq!(Instrument::for_model_dir(dir.path()).unwrap().tag(), "t@1");
        std::fs::write(dir.path().join(INSTRUMENT_FILE), "id = ").unwrap();
        let err = Instrument::for_model_dir(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains(INSTRUMENT_FILE), "{err}");
    }
}
