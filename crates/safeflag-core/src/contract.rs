//! The case snapshot data contract, version 1.1, as data.
//!
//! Every stage reads the contract from here instead of repeating column names:
//! ingest validates against [`COLUMNS`], the generator writes exactly these
//! columns, features read them. The human description is
//! `docs/data-contract.md`.

/// Version of the contract this build reads and writes. Version 1.1 lets the
/// three household items (`parental_mental_health`, `parental_substance_use`,
/// `domestic_violence`) be empty: "not yet assessed", never read as `none`.
/// Every version 1 file is a version 1.1 file.
pub const CONTRACT_VERSION: &str = "1.1";

/// Codes of `case_type`.
pub const CASE_TYPES: &[&str] = &["investigation", "in_home", "out_of_home"];
/// Codes of `child_sex`.
pub const CHILD_SEXES: &[&str] = &["F", "M", "U"];
/// Codes of `sleep_environment`.
pub const SLEEP_ENVIRONMENTS: &[&str] = &[
    "crib_bassinet",
    "adult_bed",
    "bed_sharing",
    "sofa_chair",
    "other_unsafe",
    "unknown",
    "not_assessed",
];
/// Sleep environments counted as unsafe by the contract's derived features.
pub const UNSAFE_SLEEP: &[&str] = &["adult_bed", "bed_sharing", "sofa_chair", "other_unsafe"];
/// Codes of `parental_mental_health` and `parental_substance_use`.
pub const CONCERN_LEVELS: &[&str] = &["none", "history", "current"];

/// Spellings of a missing value (compared case-insensitively after trimming;
/// the empty string is missing too).
pub const MISSING_SPELLINGS: &[&str] = &["na", "n/a", "null"];
/// Spellings of `true` (compared case-insensitively after trimming).
pub const TRUE_SPELLINGS: &[&str] = &["true", "1", "y", "yes"];
/// Spellings of `false` (compared case-insensitively after trimming).
pub const FALSE_SPELLINGS: &[&str] = &["false", "0", "n", "no"];
/// The contract's date format (chrono syntax); an agency may declare another.
pub const ISO_DATE_FORMAT: &str = "%Y-%m-%d";

/// The value type of a contract column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Free text (identifiers, office names).
    Text,
    /// A calendar date.
    Date,
    /// One of a fixed set of codes, matched case-insensitively; `codes` are canonical.
    Enum {
        /// The canonical codes.
        codes: &'static [&'static str],
    },
    /// A boolean in any of the accepted spellings.
    Bool,
    /// An integer within `min..=max` (`max` unbounded when `None`).
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value, if bounded.
        max: Option<i64>,
    },
}

/// Whether a column, and a value in it, must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// The column must exist and every row must hold a value.
    Required,
    /// The column must exist, but a value may be missing (`sleep_environment`).
    RequiredColumn,
    /// The column may be absent and values may be missing.
    Optional,
    /// Needed only to train or evaluate a model: required then, ignored when scoring.
    Outcome,
}

/// One column of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Canonical column name.
    pub name: &'static str,
    /// Value type.
    pub ty: ColumnType,
    /// Presence rule.
    pub presence: Presence,
    /// One-line meaning, for documentation and reports.
    pub meaning: &'static str,
}

/// One column spec, as the contract tables (here and in
/// [`crate::extract_contract`]) write them.
macro_rules! col {
    ($name:literal, $ty:expr, $presence:ident, $meaning:literal) => {
        $crate::contract::ColumnSpec {
            name: $name,
            ty: $ty,
            presence: $crate::contract::Presence::$presence,
            meaning: $meaning,
        }
    };
}
pub(crate) use col;

const COUNT: ColumnType = ColumnType::Int { min: 0, max: None };

/// The canonical columns, in the contract's order.
pub const COLUMNS: &[ColumnSpec] = &[
    col!(
        "case_id",
        ColumnType::Text,
        Required,
        "case identifier; several children may share it"
    ),
    col!(
        "child_id",
        ColumnType::Text,
        Required,
        "child identifier; (child_id, snapshot_date) is unique"
    ),
    col!(
        "snapshot_date",
        ColumnType::Date,
        Required,
        "the as-of date of the row"
    ),
    col!(
        "office",
        ColumnType::Text,
        Required,
        "area office that holds the case"
    ),
    col!(
        "supervisor_id",
        ColumnType::Text,
        Required,
        "supervisor of the assigned worker"
    ),
    col!("worker_id", ColumnType::Text, Required, "assigned worker"),
    col!(
        "case_type",
        ColumnType::Enum { codes: CASE_TYPES },
        Required,
        "service type of the case"
    ),
    col!(
        "child_birth_date",
        ColumnType::Date,
        Required,
        "must not be after snapshot_date"
    ),
    col!(
        "child_sex",
        ColumnType::Enum { codes: CHILD_SEXES },
        Optional,
        "sex of the child"
    ),
    col!(
        "child_race_ethnicity",
        ColumnType::Text,
        Optional,
        "for the fairness audit only; never a model input"
    ),
    col!(
        "child_disability",
        ColumnType::Bool,
        Optional,
        "disability or medically complex"
    ),
    col!(
        "sleep_environment",
        ColumnType::Enum {
            codes: SLEEP_ENVIRONMENTS
        },
        RequiredColumn,
        "where the child usually sleeps"
    ),
    col!(
        "caregiver_age",
        ColumnType::Int {
            min: 10,
            max: Some(100)
        },
        Optional,
        "age of the youngest primary caregiver"
    ),
    col!(
        "parental_mental_health",
        ColumnType::Enum {
            codes: CONCERN_LEVELS
        },
        RequiredColumn,
        "primary caregiver mental-health concern"
    ),
    col!(
        "parental_substance_use",
        ColumnType::Enum {
            codes: CONCERN_LEVELS
        },
        RequiredColumn,
        "primary caregiver substance use"
    ),
    col!(
        "domestic_violence",
        ColumnType::Bool,
        RequiredColumn,
        "domestic violence in the household"
    ),
    col!(
        "unrelated_adult_in_home",
        ColumnType::Bool,
        Optional,
        "an adult who is not a parent or relative lives in the home"
    ),
    col!(
        "prior_reports",
        COUNT,
        Required,
        "earlier maltreatment reports on the family"
    ),
    col!(
        "prior_substantiations",
        COUNT,
        Optional,
        "earlier substantiated reports"
    ),
    col!(
        "prior_removals",
        COUNT,
        Optional,
        "earlier removals of any child in the family"
    ),
    col!(
        "children_in_home",
        ColumnType::Int { min: 1, max: None },
        Optional,
        "children living in the household"
    ),
    col!(
        "days_since_last_visit",
        COUNT,
        Optional,
        "days since the last face-to-face worker visit"
    ),
    col!(
        "outcome_critical_incident",
        ColumnType::Bool,
        Outcome,
        "serious injury or death of the child within 365 days after snapshot_date"
    ),
];

/// One table of a contract: its columns and the rules that tie columns of a
/// row together. The snapshot is one table ([`SNAPSHOT`]); the relational
/// extract is eight ([`crate::extract_contract::TABLES`]). Ingest validates any
/// of them the same way, into the same quarantine form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// The table's name (`snapshot`, `persons`, ...).
    pub name: &'static str,
    /// Its columns, in order.
    pub columns: &'static [ColumnSpec],
    /// The key no two rows may share: a text column and, optionally, a date
    /// column (a later row with the same key breaks [`Rule::DuplicateKey`],
    /// flagged on the text column).
    pub key: Option<(&'static str, Option<&'static str>)>,
    /// Pairs of date columns that must be in order.
    pub order: &'static [DateOrder],
}

/// Two date columns of a row that must be in order (both present and
/// `earlier > later` breaks `rule`, flagged on `flagged`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateOrder {
    /// The date that must come first (or be equal).
    pub earlier: &'static str,
    /// The date that must come second.
    pub later: &'static str,
    /// The column the quarantine names.
    pub flagged: &'static str,
    /// The rule broken.
    pub rule: Rule,
}

impl TableSpec {
    /// Looks a column of this table up by name.
    pub fn column(&self, name: &str) -> Option<&'static ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The flat snapshot, as a table.
pub const SNAPSHOT: TableSpec = TableSpec {
    name: "snapshot",
    columns: COLUMNS,
    key: Some(("child_id", Some("snapshot_date"))),
    order: &[DateOrder {
        earlier: "child_birth_date",
        later: "snapshot_date",
        flagged: "child_birth_date",
        rule: Rule::BirthAfterSnapshot,
    }],
};

/// The outcome column's name.
pub const OUTCOME: &str = "outcome_critical_incident";
/// The fairness-only column, never a model input.
pub const RACE_ETHNICITY: &str = "child_race_ethnicity";

/// Looks a canonical column up by name.
pub fn column(name: &str) -> Option<&'static ColumnSpec> {
    COLUMNS.iter().find(|c| c.name == name)
}

/// A rule of the contract that a row can break; the quarantine records which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// A required value is missing.
    MissingRequired,
    /// A date is not `YYYY-MM-DD` (or the declared format) or not in the calendar.
    BadDate,
    /// An enum value is not one of the codes.
    UnknownCode,
    /// A boolean is not in an accepted spelling.
    BadBool,
    /// An integer column holds something that is not an integer.
    NotInteger,
    /// An integer is outside its allowed range (a negative count, an impossible age).
    OutOfRange,
    /// The child's birth date is after the snapshot date.
    BirthAfterSnapshot,
    /// A second row with the same key (`(child_id, snapshot_date)` in a snapshot).
    DuplicateKey,
    /// A date before the date it must follow (a period that ends before it starts).
    DateOrder,
    /// A row of an extract recorded after the extract date.
    RecordedAfterExtract,
    /// A reference to a person or case the extract does not hold.
    UnknownReference,
    /// A value that other values of its row require is missing (a disposition
    /// with no date it was recorded, a child with no birth date).
    MissingDependent,
}

impl Rule {
    /// Every rule, in reporting order.
    pub const ALL: [Rule; 12] = [
        Rule::MissingRequired,
        Rule::BadDate,
        Rule::UnknownCode,
        Rule::BadBool,
        Rule::NotInteger,
        Rule::OutOfRange,
        Rule::BirthAfterSnapshot,
        Rule::DuplicateKey,
        Rule::DateOrder,
        Rule::RecordedAfterExtract,
        Rule::UnknownReference,
        Rule::MissingDependent,
    ];

    /// The rules a snapshot row can break: the first eight of [`Rule::ALL`]
    /// (the others are the extract's: checks between tables and against the
    /// extract date).
    pub const SNAPSHOT: &'static [Rule] = Rule::ALL.split_at(8).0;

    /// The stable snake_case name written to quarantine files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::MissingRequired => "missing_required",
            Rule::BadDate => "bad_date",
            Rule::UnknownCode => "unknown_code",
            Rule::BadBool => "bad_bool",
            Rule::NotInteger => "not_integer",
            Rule::OutOfRange => "out_of_range",
            Rule::BirthAfterSnapshot => "birth_after_snapshot",
            Rule::DuplicateKey => "duplicate_key",
            Rule::DateOrder => "date_order",
            Rule::RecordedAfterExtract => "recorded_after_extract",
            Rule::UnknownReference => "unknown_reference",
            Rule::MissingDependent => "missing_dependent",
        }
    }

    /// Parses a name written by [`Rule::as_str`].
    pub fn from_name(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// A plain-words explanation for people reading a report.
    pub fn explain(self) -> &'static str {
        match self {
            Rule::MissingRequired => "a required value is missing",
            Rule::BadDate => "not a valid calendar date in the expected format",
            Rule::UnknownCode => "not one of the contract's codes",
            Rule::BadBool => "not a recognised yes/no value",
            Rule::NotInteger => "not a whole number",
            Rule::OutOfRange => "outside the allowed range",
            Rule::BirthAfterSnapshot => "birth date is after the snapshot date",
            Rule::DuplicateKey => "repeats an earlier row's key",
            Rule::DateOrder => "a date before the date it must follow",
            Rule::RecordedAfterExtract => "recorded after the extract date",
            Rule::UnknownReference => "refers to a person or case the extract does not hold",
            Rule::MissingDependent => "missing, though other values of the row require it",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_are_unique_and_snake_case() {
        let mut names: Vec<_> = COLUMNS.iter().map(|c| c.name).collect();
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COLUMNS.len());
    }

    #[test]
    fn rule_names_round_trip() {
        for rule in Rule::ALL {
            assert_eq!(Rule::from_name(rule.as_str()), Some(rule));
        }
        assert_eq!(Rule::from_name("nope"), None);
    }

    #[test]
    fn unsafe_sleep_codes_are_sleep_codes() {
        assert!(UNSAFE_SLEEP.iter().all(|c| SLEEP_ENVIRONMENTS.contains(c)));
    }
}
