//! The relational extract contract, version 1, as data.
//!
//! No agency has a flat snapshot; it has a case-management system. These are
//! the eight tables of its extract, each row with the date it was recorded
//! (its knowledge date), from which `safeflag-extract` builds snapshots as of
//! any date. Ingest validates each table with the same machinery and the same
//! quarantine form as a snapshot ([`TableSpec`]). The human description and
//! every as-of rule: `docs/extract-contract.md`.

use crate::contract::{
    CASE_TYPES, CHILD_SEXES, CONCERN_LEVELS, ColumnType, DateOrder, Rule, SLEEP_ENVIRONMENTS,
    TableSpec, col,
};

/// Version of the extract contract.
pub const EXTRACT_VERSION: u32 = 1;

/// The file in an extract directory that names the extract date.
pub const EXTRACT_TOML: &str = "extract.toml";

/// Codes of `case_members.role`.
pub const ROLES: &[&str] = &[
    "child",
    "parent",
    "caregiver",
    "relative",
    "unrelated_adult",
];
/// Codes of `reports.disposition`.
pub const DISPOSITIONS: &[&str] = &[
    "substantiated",
    "indicated",
    "unsubstantiated",
    "screened_out",
    "pending",
];
/// Dispositions that count as substantiated.
pub const SUBSTANTIATED: &[&str] = &["substantiated", "indicated"];
/// Codes of `contacts.kind`.
pub const CONTACT_KINDS: &[&str] = &["face_to_face", "phone", "video", "attempted"];
/// Codes of `incidents.severity`.
pub const SEVERITIES: &[&str] = &["fatality", "near_fatality", "serious_injury"];

const TEXT: ColumnType = ColumnType::Text;
const DATE: ColumnType = ColumnType::Date;
const BOOL: ColumnType = ColumnType::Bool;

const fn order(earlier: &'static str, later: &'static str) -> DateOrder {
    DateOrder {
        earlier,
        later,
        flagged: later,
        rule: Rule::DateOrder,
    }
}

/// `persons`: one row per person.
pub const PERSONS: TableSpec = TableSpec {
    name: "persons",
    columns: &[
        col!("person_id", TEXT, Required, "person identifier"),
        col!(
            "birth_date",
            DATE,
            Optional,
            "required for children (checked against case_members)"
        ),
        col!(
            "sex",
            ColumnType::Enum { codes: CHILD_SEXES },
            Optional,
            "sex"
        ),
        col!(
            "race_ethnicity",
            TEXT,
            Optional,
            "for the fairness audit only"
        ),
        col!(
            "disability",
            BOOL,
            Optional,
            "disability or medically complex"
        ),
    ],
    key: Some(("person_id", None)),
    order: &[],
};

/// `case_periods`: a stretch of a case with one type and one assignment.
pub const CASE_PERIODS: TableSpec = TableSpec {
    name: "case_periods",
    columns: &[
        col!("case_id", TEXT, Required, "case identifier"),
        col!(
            "case_type",
            ColumnType::Enum { codes: CASE_TYPES },
            Required,
            "service type during the period"
        ),
        col!("office", TEXT, Required, "area office"),
        col!("supervisor_id", TEXT, Required, "supervisor"),
        col!("worker_id", TEXT, Required, "assigned worker"),
        col!("start_date", DATE, Required, "first day of the period"),
        col!(
            "end_date",
            DATE,
            Optional,
            "the day it ended (empty: still open)"
        ),
        col!("recorded_on", DATE, Required, "knowledge date"),
    ],
    key: Some(("case_id", Some("start_date"))),
    order: &[order("start_date", "end_date")],
};

/// `case_members`: a person's membership of a case.
pub const CASE_MEMBERS: TableSpec = TableSpec {
    name: "case_members",
    columns: &[
        col!("case_id", TEXT, Required, "the case"),
        col!("person_id", TEXT, Required, "the person"),
        col!(
            "role",
            ColumnType::Enum { codes: ROLES },
            Required,
            "role in the case"
        ),
        col!("in_home", BOOL, Required, "lives in the case's home"),
        col!("start_date", DATE, Required, "membership starts"),
        col!(
            "end_date",
            DATE,
            Optional,
            "membership ends (empty: current)"
        ),
        col!("recorded_on", DATE, Required, "knowledge date"),
    ],
    key: None,
    order: &[order("start_date", "end_date")],
};

/// `reports`: a maltreatment report on one child (NCANDS report-child pair).
pub const REPORTS: TableSpec = TableSpec {
    name: "reports",
    columns: &[
        col!("report_id", TEXT, Required, "report identifier"),
        col!("child_id", TEXT, Required, "the child reported"),
        col!("received_on", DATE, Required, "the day the report came in"),
        col!(
            "recorded_on",
            DATE,
            Required,
            "knowledge date of the report"
        ),
        col!(
            "disposition",
            ColumnType::Enum {
                codes: DISPOSITIONS
            },
            Optional,
            "finding"
        ),
        col!("disposed_on", DATE, Optional, "the day of the finding"),
        col!(
            "disposition_recorded_on",
            DATE,
            Optional,
            "knowledge date of the finding"
        ),
    ],
    key: Some(("report_id", None)),
    order: &[
        order("received_on", "disposed_on"),
        order("disposed_on", "disposition_recorded_on"),
    ],
};

/// `removals`: a removal episode of one child (AFCARS).
pub const REMOVALS: TableSpec = TableSpec {
    name: "removals",
    columns: &[
        col!("removal_id", TEXT, Required, "removal identifier"),
        col!("child_id", TEXT, Required, "the child removed"),
        col!("removed_on", DATE, Required, "the day of removal"),
        col!("recorded_on", DATE, Required, "knowledge date"),
        col!("discharged_on", DATE, Optional, "the day the episode ended"),
    ],
    key: Some(("removal_id", None)),
    order: &[order("removed_on", "discharged_on")],
};

/// `contacts`: a worker contact.
pub const CONTACTS: TableSpec = TableSpec {
    name: "contacts",
    columns: &[
        col!("contact_id", TEXT, Required, "contact identifier"),
        col!("case_id", TEXT, Required, "the case"),
        col!(
            "person_id",
            TEXT,
            Optional,
            "the child seen (empty: the household)"
        ),
        col!("contact_on", DATE, Required, "the day of the contact"),
        col!(
            "kind",
            ColumnType::Enum {
                codes: CONTACT_KINDS
            },
            Required,
            "kind of contact"
        ),
        col!("recorded_on", DATE, Required, "knowledge date"),
    ],
    key: Some(("contact_id", None)),
    order: &[order("contact_on", "recorded_on")],
};

/// `assessments`: an approved safety/risk assessment (SDM-style).
pub const ASSESSMENTS: TableSpec = TableSpec {
    name: "assessments",
    columns: &[
        col!("assessment_id", TEXT, Required, "assessment identifier"),
        col!("case_id", TEXT, Required, "the case"),
        col!(
            "child_id",
            TEXT,
            Optional,
            "the child the child items are about"
        ),
        col!("assessed_on", DATE, Required, "the day of the assessment"),
        col!(
            "approved_on",
            DATE,
            Required,
            "knowledge date: supervisor approval"
        ),
        col!(
            "sleep_environment",
            ColumnType::Enum {
                codes: SLEEP_ENVIRONMENTS
            },
            Optional,
            "where the child sleeps"
        ),
        col!(
            "parental_mental_health",
            ColumnType::Enum {
                codes: CONCERN_LEVELS
            },
            Optional,
            "caregiver mental-health concern"
        ),
        col!(
            "parental_substance_use",
            ColumnType::Enum {
                codes: CONCERN_LEVELS
            },
            Optional,
            "caregiver substance use"
        ),
        col!("domestic_violence", BOOL, Optional, "domestic violence"),
    ],
    key: Some(("assessment_id", None)),
    order: &[order("assessed_on", "approved_on")],
};

/// `incidents`: a critical incident (death, near death, serious injury).
pub const INCIDENTS: TableSpec = TableSpec {
    name: "incidents",
    columns: &[
        col!("incident_id", TEXT, Required, "incident identifier"),
        col!("child_id", TEXT, Required, "the child"),
        col!("occurred_on", DATE, Required, "the day it happened"),
        col!("recorded_on", DATE, Required, "knowledge date"),
        col!(
            "severity",
            ColumnType::Enum { codes: SEVERITIES },
            Required,
            "fatality, near fatality or serious injury"
        ),
        col!("maltreatment", BOOL, Optional, "found to be maltreatment"),
    ],
    key: Some(("incident_id", None)),
    order: &[order("occurred_on", "recorded_on")],
};

/// The eight tables, in the order they are read and reported.
pub const TABLES: [&TableSpec; 8] = [
    &PERSONS,
    &CASE_PERIODS,
    &CASE_MEMBERS,
    &REPORTS,
    &REMOVALS,
    &CONTACTS,
    &ASSESSMENTS,
    &INCIDENTS,
];

/// Looks a table up by name.
pub fn table(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().copied().find(|t| t.name == name)
}

/// The knowledge-date column of each event table (`persons` has none: a
/// person's birth date and sex are facts, not events).
pub fn knowledge_column(table: &str) -> Option<&'static str> {
    match table {
        "persons" => None,
        "assessments" => Some("approved_on"),
        _ => Some("recorded_on"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Presence;

    #[test]
    fn every_table_has_unique_columns_and_its_rules_name_them() {
        for t in TABLES {
            let mut names: Vec<_> = t.columns.iter().map(|c| c.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), t.columns.len(), "{}", t.name);
            for o in t.order {
                for c in [o.earlier, o.later, o.flagged] {
                    assert_eq!(t.column(c).map(|s| s.ty), Some(DATE), "{}.{c}", t.name);
                }
            }
            if let Some((text, date)) = t.key {
                assert!(t.column(text).is_some());
                assert!(date.is_none_or(|d| t.column(d).is_some()));
            }
            if let Some(k) = knowledge_column(t.name) {
                assert_eq!(
                    t.column(k).map(|c| c.presence),
                    Some(Presence::Required),
                    "{}",
                    t.name
                );
            }
        }
    }
}
