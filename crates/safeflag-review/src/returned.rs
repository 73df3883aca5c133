//! A reviewer's workbook, returned: read back and checked, all or nothing.
//!
//! Columns are found by the machine keys of each sheet's second row
//! ([`crate::sheet`]), so a reviewer may reorder, widen or hide them. Every
//! cell is checked against the instrument and against the cases that were
//! sent to the workbook's recipient; every problem is listed as
//! `file, sheet, row, column: what` (row numbers as Excel shows them, a
//! value quoted only when short, never a case's text), and a workbook with
//! any problem gives nothing. A row with nothing filled in is a review not
//! done yet, not a problem.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use calamine::{Data, Range, Reader, Xlsx, open_workbook};
use chrono::NaiveDate;

use crate::sheet::{
    ACTION_COLUMNS, ACTION_STATUSES, ACTIONS_SHEET, FACTOR_ANSWERS, FOR_LABEL, INSTRUCTIONS_SHEET,
    INSTRUMENT_LABEL, KEY_ROW, QUEUE_LABEL, REVIEW_COLUMNS, REVIEW_SHEET, factor_key, item_key,
};
use crate::{CaseFacts, DISPOSITIONS, Error, Instrument, Result};

/// Where a workbook says it came from (its Instructions sheet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// sha256 of the queue it answers for.
    pub queue_sha256: String,
    /// `office` or `supervisor`.
    pub by: String,
    /// Who.
    pub recipient: String,
    /// The instrument's `id@version`.
    pub instrument: String,
}

/// One case's facts as the run's queue holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCase {
    /// The case's type.
    pub case_type: String,
    /// Its youngest child's age in days on the snapshot date.
    pub youngest_age_days: Option<i64>,
}

/// One review read from a workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkbookReview {
    /// The case.
    pub case_id: String,
    /// Who reviewed it.
    pub reviewer: String,
    /// When.
    pub review_date: NaiveDate,
    /// One of [`DISPOSITIONS`].
    pub disposition: String,
    /// Why the flag was overridden (an override's).
    pub override_reason: Option<String>,
    /// When the worker and supervisor were consulted.
    pub consultation_date: Option<NaiveDate>,
    /// Who attended.
    pub attendees: Option<String>,
    /// Item id -> rating code, for every item of the instrument.
    pub ratings: BTreeMap<String, String>,
    /// Protective factor id -> present, for each one answered.
    pub factors: BTreeMap<String, bool>,
}

/// One action item read from a workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionItem {
    /// The case.
    pub case_id: String,
    /// What was agreed.
    pub action: String,
    /// Who does it.
    pub owner: String,
    /// By when.
    pub due_date: NaiveDate,
    /// One of [`ACTION_STATUSES`].
    pub status: String,
    /// When it was done (a done item's).
    pub completed_on: Option<NaiveDate>,
}

/// A returned workbook, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returned {
    /// Where it says it came from.
    pub provenance: Provenance,
    /// The reviews filled in (rows left blank are not reviews yet).
    pub reviews: Vec<WorkbookReview>,
    /// The action items.
    pub actions: Vec<ActionItem>,
}

/// A workbook opened, not yet checked: its provenance, to find the run it
/// belongs to, and its sheets.
pub struct Opened {
    path: PathBuf,
    /// Where it says it came from.
    pub provenance: Provenance,
    review: Range<Data>,
    actions: Range<Data>,
}

fn text(d: &Data) -> Option<String> {
    let s = match d {
        Data::Empty => return None,
        Data::String(s) | Data::DateTimeIso(s) => s.trim().to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string().trim().to_string(),
    };
    (!s.is_empty()).then_some(s)
}

/// A short value for a message; a long one only by its length.
fn quote(s: &str) -> String {
    safeflag_core::error::quote_value(s)
}

fn date(d: &Data) -> std::result::Result<Option<NaiveDate>, String> {
    match d {
        Data::Empty => Ok(None),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, day, ..) = dt.to_ymd_hms_milli();
            NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(day))
                .map(Some)
                .ok_or_else(|| "not a date".to_string())
        }
        Data::String(s) | Data::DateTimeIso(s) if s.trim().is_empty() => Ok(None),
        Data::String(s) | Data::DateTimeIso(s) => {
            let s = s.trim();
            let day = s.get(..10).unwrap_or(s);
            NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| format!("{} is not a date (YYYY-MM-DD)", quote(s)))
        }
        Data::Float(_) | Data::Int(_) => {
            Err("a number, not a date (format the cell as a date)".to_string())
        }
        _ => Err("not a date".to_string()),
    }
}

/// The columns of a sheet by key (its second row).
fn keys(r: &Range<Data>) -> BTreeMap<String, usize> {
    r.rows()
        .nth(KEY_ROW as usize)
        .map(|row| {
            row.iter()
                .enumerate()
                .filter_map(|(j, c)| text(c).map(|k| (k, j)))
                .collect()
        })
        .unwrap_or_default()
}

/// Excel's name of a column: 0 -> A, 26 -> AA.
fn column_name(mut j: usize) -> String {
    let mut s = String::new();
    loop {
        s.insert(0, (b'A' + (j % 26) as u8) as char);
        if j < 26 {
            break;
        }
        j = j / 26 - 1;
    }
    s
}

impl Opened {
    /// Opens a returned workbook and reads where it says it came from.
    pub fn open(path: &Path) -> Result<Opened> {
        let fail = |what: String| Error::Workbook {
            path: path.to_path_buf(),
            problems: 1,
            details: what,
        };
        let mut wb: Xlsx<_> = open_workbook(path).map_err(|e: calamine::XlsxError| {
            fail(format!(
                "not a readable xlsx workbook ({})",
                short(&e.to_string())
            ))
        })?;
        let mut sheet = |name: &str| {
            wb.worksheet_range(name).map_err(|_| {
                fail(format!(
                    "has no `{name}` sheet: it is not a safeflag reviewer's workbook"
                ))
            })
        };
        let review = sheet(REVIEW_SHEET)?;
        let actions = sheet(ACTIONS_SHEET)?;
        let help = sheet(INSTRUCTIONS_SHEET)?;
        let label = |l: &str| -> Result<String> {
            help.rows()
                .find(|r| r.first().and_then(text).as_deref() == Some(l))
                .and_then(|r| r.get(1).and_then(text))
                .ok_or_else(|| {
                    fail(format!(
                        "sheet `{INSTRUCTIONS_SHEET}` has no `{l}` line: the workbook was not made by safeflag, or was edited there"
                    ))
                })
        };
        let (by, recipient) = label(FOR_LABEL)?
            .split_once(' ')
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .ok_or_else(|| {
                fail(format!(
                    "sheet `{INSTRUCTIONS_SHEET}`: `{FOR_LABEL}` names no recipient"
                ))
            })?;
        let provenance = Provenance {
            queue_sha256: label(QUEUE_LABEL)?,
            by,
            recipient,
            instrument: label(INSTRUMENT_LABEL)?,
        };
        Ok(Opened {
            path: path.to_path_buf(),
            provenance,
            review,
            actions,
        })
    }

    /// Checks every cell against the instrument and the cases sent to the
    /// workbook's recipient (case id -> facts, from the run's queue).
    pub fn check(
        &self,
        instrument: &Instrument,
        sent: &BTreeMap<String, SentCase>,
    ) -> Result<Returned> {
        let file = self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |f| f.to_string_lossy().to_string(),
        );
        let mut problems: Vec<String> = Vec::new();
        if self.provenance.instrument != instrument.tag() {
            problems.push(format!(
                "{file}: made with instrument {}, but reviews are recorded with {}",
                quote(&self.provenance.instrument),
                instrument.tag()
            ));
        }
        let line = |sheet: &str, row: usize, column: &str, what: String| {
            format!("{file}, {sheet}, row {row}, column `{column}`: {what}")
        };

        // The review sheet.
        let cols = keys(&self.review);
        let mut required: Vec<String> = ["case_id", "disposition", "reviewer", "review_date"]
            .map(String::from)
            .to_vec();
        required.extend(instrument.items.iter().map(|i| item_key(&i.id)));
        let missing: Vec<&String> = required.iter().filter(|k| !cols.contains_key(*k)).collect();
        if !missing.is_empty() {
            return Err(self.fail(vec![format!(
                "{file}, {REVIEW_SHEET}: the key row has no column {} (do not edit the grey second row)",
                missing.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
            )]));
        }
        let cell = |row: &[Data], key: &str| -> Data {
            cols.get(key)
                .and_then(|&j| row.get(j))
                .cloned()
                .unwrap_or(Data::Empty)
        };
        let na = instrument.not_applicable();
        let mut reviews = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let start = self.review.start().map_or(0, |(r, _)| r as usize);
        for (i, row) in self.review.rows().enumerate().skip(KEY_ROW as usize + 1) {
            let excel_row = start + i + 1;
            // A row is taken when checking it added no problem.
            let before = problems.len();
            let col_of = |key: &str| column_name(cols.get(key).copied().unwrap_or(0));
            let mut bad_at = |key: &str, what: String| {
                problems.push(line(
                    REVIEW_SHEET,
                    excel_row,
                    &format!("{} {key}", col_of(key)),
                    what,
                ))
            };
            let Some(case_id) = text(&cell(row, "case_id")) else {
                // A row with no case: nothing may be filled in on it.
                if cols
                    .keys()
                    .any(|k| k != "case_id" && text(&cell(row, k)).is_some())
                {
                    bad_at("case_id", "a row with answers has no case".into());
                }
                continue;
            };
            let answered = |k: &String| {
                (k.starts_with("item:")
                    || k.starts_with("factor:")
                    || REVIEW_COLUMNS.iter().any(|c| c.0 == k.as_str()))
                    && text(&cell(row, k)).is_some()
            };
            let Some(facts) = sent.get(&case_id) else {
                bad_at(
                    "case_id",
                    format!(
                        "case {} was not sent to {} {}",
                        quote(&case_id),
                        self.provenance.by,
                        quote(&self.provenance.recipient)
                    ),
                );
                continue;
            };
            if let Some(first) = seen.insert(case_id.clone(), excel_row) {
                bad_at(
                    "case_id",
                    format!("the case's second row (first at row {first})"),
                );
                continue;
            }
            let case = CaseFacts {
                case_type: &facts.case_type,
                youngest_age_days: facts.youngest_age_days,
            };
            // Items pre-filled "not applicable" are not answers of the reviewer.
            let filled_by_reviewer = cols.keys().filter(|k| answered(k)).any(|k| {
                match k.strip_prefix("item:").and_then(|id| instrument.item(id)) {
                    Some(item) => {
                        item.applies_to(&case)
                            || text(&cell(row, k))
                                .is_none_or(|v| !v.eq_ignore_ascii_case(na.label.trim()))
                    }
                    None => true,
                }
            });
            if !filled_by_reviewer {
                continue;
            }
            let mut ratings = BTreeMap::new();
            for item in &instrument.items {
                let key = item_key(&item.id);
                let value = text(&cell(row, &key));
                let applies = item.applies_to(&case);
                match value.as_deref().map(|v| instrument.rating(v)) {
                    None => {
                        bad_at(&key, "not rated".into());
                    }
                    Some(None) => {
                        let v = value.unwrap_or_default();
                        bad_at(
                            &key,
                            format!(
                                "{} is not on the scale ({})",
                                quote(&v),
                                instrument
                                    .scale
                                    .iter()
                                    .map(|r| r.label.trim())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        );
                    }
                    Some(Some(r)) if !applies && !r.not_applicable => {
                        bad_at(
                            &key,
                            format!(
                                "rated {}, but this item does not apply to this case",
                                quote(r.label.trim())
                            ),
                        );
                    }
                    Some(Some(r)) => {
                        ratings.insert(item.id.clone(), r.code.clone());
                    }
                }
            }
            let mut factors = BTreeMap::new();
            for f in &instrument.protective_factors {
                let key = factor_key(&f.id);
                match text(&cell(row, &key)) {
                    None => {}
                    Some(v) => match FACTOR_ANSWERS
                        .iter()
                        .position(|a| a.eq_ignore_ascii_case(&v))
                    {
                        Some(p) => {
                            factors.insert(f.id.clone(), p == 0);
                        }
                        None => {
                            bad_at(&key, format!("{} is not Yes or No", quote(&v)));
                        }
                    },
                }
            }
            let mut day = |key: &str| match date(&cell(row, key)) {
                Ok(d) => d,
                Err(what) => {
                    bad_at(key, what);
                    None
                }
            };
            let review_date = day("review_date");
            let consultation_date = day("consultation_date");
            let reviewer = text(&cell(row, "reviewer"));
            let disposition = text(&cell(row, "disposition")).map(|d| d.to_ascii_lowercase());
            let reason = text(&cell(row, "override_reason"));
            let attendees = text(&cell(row, "consultation_attendees"));
            if reviewer.is_none() {
                bad_at("reviewer", "missing".into());
            }
            if review_date.is_none() && date(&cell(row, "review_date")).is_ok() {
                bad_at("review_date", "missing".into());
            }
            match disposition.as_deref() {
                None => {
                    bad_at("disposition", "missing".into());
                }
                Some(d) if !DISPOSITIONS.contains(&d) => {
                    bad_at(
                        "disposition",
                        format!("{} is not one of {}", quote(d), DISPOSITIONS.join(", ")),
                    );
                }
                Some("override") if reason.is_none() => {
                    bad_at("override_reason", "an override needs its reason".into());
                }
                _ => {}
            }
            if consultation_date.is_some() && attendees.is_none() {
                bad_at(
                    "consultation_attendees",
                    "a consultation needs who attended".into(),
                );
            }
            if let (true, Some(reviewer), Some(review_date), Some(disposition)) =
                (problems.len() == before, reviewer, review_date, disposition)
            {
                reviews.push(WorkbookReview {
                    case_id,
                    reviewer,
                    review_date,
                    override_reason: reason.filter(|_| disposition == "override"),
                    disposition,
                    consultation_date,
                    attendees,
                    ratings,
                    factors,
                });
            }
        }

        // The action items.
        let cols = keys(&self.actions);
        let missing: Vec<&str> = ACTION_COLUMNS
            .iter()
            .map(|c| c.0)
            .filter(|k| !cols.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{file}, {ACTIONS_SHEET}: the key row has no column {} (do not edit the grey second row)",
                missing.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
            ));
            return Err(self.fail(problems));
        }
        let mut actions = Vec::new();
        let start = self.actions.start().map_or(0, |(r, _)| r as usize);
        for (i, row) in self.actions.rows().enumerate().skip(KEY_ROW as usize + 1) {
            let excel_row = start + i + 1;
            // A row is taken when checking it added no problem.
            let before = problems.len();
            let get = |key: &str| -> Data {
                cols.get(key)
                    .and_then(|&j| row.get(j))
                    .cloned()
                    .unwrap_or(Data::Empty)
            };
            if ACTION_COLUMNS.iter().all(|c| text(&get(c.0)).is_none()) {
                continue;
            }
            let mut bad_at = |key: &str, what: String| {
                let col = column_name(cols.get(key).copied().unwrap_or(0));
                problems.push(line(
                    ACTIONS_SHEET,
                    excel_row,
                    &format!("{col} {key}"),
                    what,
                ))
            };
            let case_id = text(&get("case_id"));
            match &case_id {
                None => {
                    bad_at("case_id", "missing".into());
                }
                Some(c) if !sent.contains_key(c) => {
                    bad_at(
                        "case_id",
                        format!(
                            "case {} was not sent to {} {}",
                            quote(c),
                            self.provenance.by,
                            quote(&self.provenance.recipient)
                        ),
                    );
                }
                Some(_) => {}
            }
            let action = text(&get("action"));
            let owner = text(&get("owner"));
            for (key, v) in [("action", &action), ("owner", &owner)] {
                if v.is_none() {
                    bad_at(key, "missing".into());
                }
            }
            let mut day = |key: &str| match date(&get(key)) {
                Ok(d) => d,
                Err(what) => {
                    bad_at(key, what);
                    None
                }
            };
            let due = day("due_date");
            let completed = day("completed_on");
            if due.is_none() && date(&get("due_date")).is_ok() {
                bad_at("due_date", "missing".into());
            }
            let status = text(&get("status")).map(|s| s.to_ascii_lowercase());
            match status.as_deref() {
                None => {
                    bad_at("status", "missing".into());
                }
                Some(s) if !ACTION_STATUSES.contains(&s) => {
                    bad_at(
                        "status",
                        format!("{} is not one of {}", quote(s), ACTION_STATUSES.join(", ")),
                    );
                }
                Some("done") if completed.is_none() && date(&get("completed_on")).is_ok() => {
                    bad_at(
                        "completed_on",
                        "a done action needs the date it was completed".into(),
                    );
                }
                Some("open") if completed.is_some() => {
                    bad_at(
                        "completed_on",
                        "an open action has no completion date".into(),
                    );
                }
                _ => {}
            }
            if let (true, Some(case_id), Some(action), Some(owner), Some(due_date), Some(status)) = (
                problems.len() == before,
                case_id,
                action,
                owner,
                due,
                status,
            ) {
                actions.push(ActionItem {
                    case_id,
                    action,
                    owner,
                    due_date,
                    status,
                    completed_on: completed,
                });
            }
        }
        if !problems.is_empty() {
            return Err(self.fail(problems));
        }
        Ok(Returned {
            provenance: self.provenance.clone(),
            reviews,
            actions,
        })
    }

    fn fail(&self, problems: Vec<String>) -> Error {
        Error::Workbook {
            path: self.path.clone(),
            problems: problems.len(),
            details: problems.join("\n"),
        }
    }
}

/// A reader's message, cut short and without quoted contents.
fn short(s: &str) -> String {
    let s = safeflag_core::error::redact_quoted(s);
    s.chars().take(120).collect()
}
