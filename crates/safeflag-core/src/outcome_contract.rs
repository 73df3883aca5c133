//! The outcomes file: what happened to children after the nights they were
//! scored, as data.
//!
//! Looking back at past queues needs the outcomes an agency learns later: a
//! critical incident (the outcome the model predicts), and the intermediate
//! outcomes a rare label needs to be read at all (a new report, a removal).
//! Each row carries the day it happened and the day the agency recorded it,
//! like every table of the relational extract: an outcome counts for a night
//! only by when it happened, but whether a night's window is *known* depends
//! on when outcomes were recorded. The human description:
//! `docs/outcomes.md`.

use crate::contract::{ColumnType, DateOrder, Rule, TableSpec, col};
use crate::extract_contract::SEVERITIES;

/// The kinds of outcome a file may hold. `incident` is the model's own
/// outcome; the others are intermediate.
pub const OUTCOME_KINDS: &[&str] = &["incident", "report", "removal"];

/// The kind a row with no `kind` has.
pub const DEFAULT_KIND: &str = "incident";

/// `outcomes`: one outcome of one child.
pub const OUTCOMES: TableSpec = TableSpec {
    name: "outcomes",
    columns: &[
        col!("child_id", ColumnType::Text, Required, "the child"),
        col!(
            "occurred_on",
            ColumnType::Date,
            Required,
            "the day it happened"
        ),
        col!(
            "recorded_on",
            ColumnType::Date,
            Required,
            "the day the agency recorded it (knowledge date)"
        ),
        col!(
            "kind",
            ColumnType::Enum {
                codes: OUTCOME_KINDS
            },
            Optional,
            "incident (the default), report or removal"
        ),
        col!(
            "severity",
            ColumnType::Enum { codes: SEVERITIES },
            Optional,
            "an incident's severity"
        ),
    ],
    key: None,
    order: &[DateOrder {
        earlier: "occurred_on",
        later: "recorded_on",
        flagged: "recorded_on",
        rule: Rule::DateOrder,
    }],
};
