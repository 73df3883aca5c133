//! The reviewer's workbook sheets as a schema: their names, the machine key
//! of every column, and the fixed answers. The report writes the sheets from
//! these and the import reads them back by the same keys: one definition.

/// The review sheet's name.
pub const REVIEW_SHEET: &str = "Review";
/// The action-items sheet's name.
pub const ACTIONS_SHEET: &str = "Actions";
/// The instructions sheet's name.
pub const INSTRUCTIONS_SHEET: &str = "Instructions";
/// The row (0-based) of each sheet's machine keys; data starts below it.
pub const KEY_ROW: u32 = 1;

/// The review sheet's columns before the items: (key, header, width).
pub const CASE_COLUMNS: [(&str, &str, f64); 6] = [
    ("case_id", "Case", 12.0),
    ("child_id", "Lead child", 12.0),
    ("case_type", "Case type", 11.0),
    ("worker_id", "Worker", 10.0),
    ("reasons", "Why this case", 36.0),
    ("prompt", "Coaching prompt", 48.0),
];

/// The review sheet's columns after the items and factors: (key, header, width).
pub const REVIEW_COLUMNS: [(&str, &str, f64); 6] = [
    ("consultation_date", "Consultation date", 13.0),
    ("consultation_attendees", "Who attended", 20.0),
    ("disposition", "Disposition", 14.0),
    (
        "override_reason",
        "Override reason (required for override)",
        28.0,
    ),
    ("reviewer", "Reviewer", 14.0),
    ("review_date", "Review date", 12.0),
];

/// The action sheet's columns: (key, header, width).
pub const ACTION_COLUMNS: [(&str, &str, f64); 6] = [
    ("case_id", "Case", 12.0),
    ("action", "Action agreed", 48.0),
    ("owner", "Owner", 16.0),
    ("due_date", "Due date", 12.0),
    ("status", "Status", 11.0),
    ("completed_on", "Completed on", 13.0),
];

/// The statuses of an action item.
pub const ACTION_STATUSES: [&str; 3] = ["open", "done", "dropped"];

/// A protective factor's answers: present, or not.
pub const FACTOR_ANSWERS: [&str; 2] = ["Yes", "No"];

/// The key of an item's column.
pub fn item_key(id: &str) -> String {
    format!("item:{id}")
}

/// The key of a protective factor's column.
pub fn factor_key(id: &str) -> String {
    format!("factor:{id}")
}

/// The instructions sheet's label of the queue the workbook answers for.
pub const QUEUE_LABEL: &str = "Queue";
/// The instructions sheet's label of the recipient.
pub const FOR_LABEL: &str = "For";
/// The instructions sheet's label of the instrument.
pub const INSTRUMENT_LABEL: &str = "Instrument";
