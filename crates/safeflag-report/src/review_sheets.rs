//! The reviewer's sheets of an office's workbook: where the review is done.
//!
//! Reviewers and supervisors live in Excel, so the review loop runs through
//! the workbook they already receive. `Review` has one row per queued case:
//! its reasons and prompt, then one column per instrument item with a
//! drop-down of the scale (an item that does not apply to the case is filled
//! in as "not applicable", and its drop-down offers nothing else), the
//! family's protective factors, the consultation and the disposition.
//! `Actions` holds the agreed actions (case, action, owner, due date, status,
//! completed on), each column checked by Excel as it is typed. `Instructions`
//! says how to fill them in, lists the items with their guidance, and names
//! the queue (its sha256), the recipient and the instrument the workbook
//! belongs to.
//!
//! Each sheet's second row holds the machine keys of its columns (`case_id`,
//! `item:safety_plan`, ...): a returned workbook is read by those keys, so a
//! reviewer may widen, hide or reorder columns without breaking the import.

use polars::prelude::*;
use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, DataValidationRule, ExcelDateTime, Format,
    FormatAlign, FormatBorder, Formula, Workbook, Worksheet,
};
use safeflag_review::{CaseFacts, Instrument};

use crate::Result;

pub use safeflag_review::DISPOSITIONS;
pub use safeflag_review::sheet::*;

/// Blank action rows offered per case (at least 20 in all).
const ACTIONS_PER_CASE: u32 = 3;

/// What the sheets say about where the workbook came from. Not the run's
/// id: a rerun of the same night from the same data publishes the same queue
/// and byte-identical workbooks, and a workbook answers for that queue.
pub struct Provenance<'a> {
    /// sha256 of the run's `queue.parquet` (as the export manifest records it).
    pub queue_sha256: &'a str,
    /// `office` or `supervisor`, and who.
    pub recipient: (&'a str, &'a str),
    /// The night's snapshot date.
    pub snapshot_date: &'a str,
}

/// Dates a reviewer may type: anything outside is a slip of the keyboard.
fn date_rule() -> Result<DataValidation> {
    Ok(DataValidation::new()
        .allow_date(DataValidationRule::Between(
            ExcelDateTime::from_ymd(2000, 1, 1)?,
            ExcelDateTime::from_ymd(2099, 12, 31)?,
        ))
        .set_error_title("Not a date")?
        .set_error_message("Type a date, for example 2026-03-31.")?
        .set_error_style(DataValidationErrorStyle::Stop))
}

/// A drop-down of `choices`; `title` (at most 32 characters, Excel's limit)
/// heads the message shown for anything else.
fn list_rule(choices: &[&str], title: &str) -> Result<DataValidation> {
    Ok(DataValidation::new()
        .allow_list_strings(choices)?
        .set_error_title(title)?
        .set_error_message(format!("Pick one of: {}.", choices.join(", ")))?
        .set_error_style(DataValidationErrorStyle::Stop))
}

fn headers(
    ws: &mut Worksheet,
    columns: &[(String, String, f64)],
    header: &Format,
    key: &Format,
    from: &Provenance<'_>,
) -> Result<()> {
    for (j, (k, title, width)) in columns.iter().enumerate() {
        let j = j as u16;
        ws.write_string_with_format(0, j, title, header)?;
        ws.write_string_with_format(KEY_ROW, j, k, key)?;
        ws.set_column_width(j, *width)?;
    }
    ws.set_row_height(0, 45)?;
    ws.set_freeze_panes(KEY_ROW + 1, 1)?;
    ws.set_repeat_rows(0, KEY_ROW)?;
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    crate::export::confidential(ws, from);
    Ok(())
}

/// Adds `Review`, `Actions` and `Instructions` to a workbook, for the cases
/// of `part` (the recipient's rows of the queue).
pub fn add(
    wb: &mut Workbook,
    part: &DataFrame,
    instrument: &Instrument,
    from: &Provenance<'_>,
) -> Result<()> {
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Top)
        .set_background_color(0x1F3A5F)
        .set_font_color(0xFFFFFF)
        .set_border(FormatBorder::Thin);
    let key = Format::new().set_font_size(8).set_font_color(0x808080);
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    let input = Format::new()
        .set_align(FormatAlign::Top)
        .set_border(FormatBorder::Thin)
        .set_background_color(0xFFF9E5);
    let date = input.clone().set_num_format("yyyy-mm-dd");
    let not_asked = Format::new()
        .set_align(FormatAlign::Top)
        .set_font_color(0x808080)
        .set_background_color(0xEEEEEE);

    let n = part.height() as u32;
    let text = |c: &str| -> Result<StringChunked> { Ok(part.column(c)?.str()?.clone()) };
    let youngest = part
        .column("youngest_age_days")?
        .cast(&DataType::Int64)?
        .i64()?
        .clone();
    let case_types = text("case_type")?;

    // The review sheet.
    let mut columns: Vec<(String, String, f64)> = CASE_COLUMNS
        .iter()
        .map(|(k, h, w)| (k.to_string(), h.to_string(), *w))
        .collect();
    let first_item = columns.len();
    for (i, item) in instrument.items.iter().enumerate() {
        columns.push((
            item_key(&item.id),
            format!("{}. {}", i + 1, item.question),
            22.0,
        ));
    }
    let first_factor = columns.len();
    for f in &instrument.protective_factors {
        columns.push((factor_key(&f.id), f.label.clone(), 14.0));
    }
    let first_review = columns.len();
    columns.extend(
        REVIEW_COLUMNS
            .iter()
            .map(|(k, h, w)| (k.to_string(), h.to_string(), *w)),
    );

    let ws = wb.add_worksheet();
    ws.set_name(REVIEW_SHEET)?;
    headers(ws, &columns, &header, &key, from)?;
    let labels: Vec<&str> = instrument.scale.iter().map(|r| r.label.trim()).collect();
    let na = instrument.not_applicable().label.trim();
    let rating = list_rule(&labels, "Not a rating on the scale")?;
    let only_na = list_rule(&[na], "Does not apply to this case")?;
    for r in 0..n {
        let row = KEY_ROW + 1 + r;
        let i = r as usize;
        ws.set_row_height(row, 60)?;
        for (j, (k, _, _)) in CASE_COLUMNS.iter().enumerate() {
            let v = text(k)?.get(i).unwrap_or_default().to_string();
            ws.write_string_with_format(
                row,
                j as u16,
                crate::export::fit_cell(&v).as_ref(),
                &wrap,
            )?;
        }
        let case = CaseFacts {
            case_type: case_types.get(i).unwrap_or_default(),
            youngest_age_days: youngest.get(i),
        };
        for (m, item) in instrument.items.iter().enumerate() {
            let j = (first_item + m) as u16;
            if item.applies_to(&case) {
                ws.write_blank(row, j, &input)?;
                ws.add_data_validation(row, j, row, j, &rating)?;
            } else {
                ws.write_string_with_format(row, j, na, &not_asked)?;
                ws.add_data_validation(row, j, row, j, &only_na)?;
            }
        }
        for m in 0..instrument.protective_factors.len() {
            ws.write_blank(row, (first_factor + m) as u16, &input)?;
        }
        for (m, (k, _, _)) in REVIEW_COLUMNS.iter().enumerate() {
            let f = if k.ends_with("_date") { &date } else { &input };
            ws.write_blank(row, (first_review + m) as u16, f)?;
        }
    }
    if n > 0 {
        let (top, bottom) = (KEY_ROW + 1, KEY_ROW + n);
        let col = |m: usize| m as u16;
        if !instrument.protective_factors.is_empty() {
            ws.add_data_validation(
                top,
                col(first_factor),
                bottom,
                col(first_review - 1),
                &list_rule(&FACTOR_ANSWERS, "Yes or No")?,
            )?;
        }
        let at =
            |key: &str| first_review + REVIEW_COLUMNS.iter().position(|c| c.0 == key).unwrap_or(0);
        for k in ["consultation_date", "review_date"] {
            ws.add_data_validation(top, col(at(k)), bottom, col(at(k)), &date_rule()?)?;
        }
        ws.add_data_validation(
            top,
            col(at("disposition")),
            bottom,
            col(at("disposition")),
            &list_rule(&DISPOSITIONS, "Not a disposition")?,
        )?;
    }

    // The action items.
    let ws = wb.add_worksheet();
    ws.set_name(ACTIONS_SHEET)?;
    let columns: Vec<(String, String, f64)> = ACTION_COLUMNS
        .iter()
        .map(|(k, h, w)| (k.to_string(), h.to_string(), *w))
        .collect();
    headers(ws, &columns, &header, &key, from)?;
    let rows = (n * ACTIONS_PER_CASE).max(20);
    let (top, bottom) = (KEY_ROW + 1, KEY_ROW + rows);
    for r in top..=bottom {
        for (j, (k, _, _)) in ACTION_COLUMNS.iter().enumerate() {
            let f = if k.ends_with("_date") || *k == "completed_on" {
                &date
            } else {
                &input
            };
            ws.write_blank(r, j as u16, f)?;
        }
    }
    if n > 0 {
        // A case of this workbook: the review sheet's case column.
        let cases = DataValidation::new()
            .allow_list_formula(Formula::new(format!(
                "={REVIEW_SHEET}!$A${}:$A${}",
                KEY_ROW + 2,
                KEY_ROW + 1 + n
            )))
            .set_error_title("Not a case of this workbook")?
            .set_error_message("Pick a case listed on the Review sheet.")?;
        ws.add_data_validation(top, 0, bottom, 0, &cases)?;
    }
    ws.add_data_validation(top, 3, bottom, 3, &date_rule()?)?;
    ws.add_data_validation(
        top,
        4,
        bottom,
        4,
        &list_rule(&ACTION_STATUSES, "Not a status")?,
    )?;
    ws.add_data_validation(top, 5, bottom, 5, &date_rule()?)?;

    instructions(wb, instrument, from, n)
}

fn instructions(
    wb: &mut Workbook,
    instrument: &Instrument,
    from: &Provenance<'_>,
    cases: u32,
) -> Result<()> {
    let ws = wb.add_worksheet();
    ws.set_name(INSTRUCTIONS_SHEET)?;
    ws.set_column_width(0, 26)?;
    ws.set_column_width(1, 90)?;
    let title = Format::new().set_bold().set_font_size(14);
    let bold = Format::new().set_bold().set_align(FormatAlign::Top);
    let para = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    ws.write_string_with_format(0, 0, "How to record a review", &title)?;
    let mut row = 2u32;
    let mut line = |ws: &mut Worksheet, a: &str, b: &str| -> Result<()> {
        ws.write_string_with_format(row, 0, a, &bold)?;
        ws.write_string_with_format(row, 1, b, &para)?;
        let lines = b.chars().count().div_ceil(95).max(1) as u32;
        ws.set_row_height(row, 15 * lines)?;
        row += 1;
        Ok(())
    };
    line(
        ws,
        "Review sheet",
        &format!(
            "One row per case in this workbook ({cases}). Rate each practice item from its drop-down; an item already filled in as \"{}\" does not apply to that case. Mark the family's protective factors Yes or No: the coaching builds on them. Give the consultation date (within one business day where there are concerns) and who attended, the disposition, and for an override the reason.",
            instrument.not_applicable().label.trim()
        ),
    )?;
    line(
        ws,
        "Actions sheet",
        "One row per action agreed with the worker and supervisor: the case (from its drop-down), the action, its owner, its due date and its status; give the date it was completed when it is done.",
    )?;
    line(
        ws,
        "Send it back",
        "Save the workbook and return it as it is. Do not change the grey keys in the second row of each sheet: the review is read back by them. Dates must be dates, ratings must come from the drop-downs; a workbook with any cell that breaks these rules is returned to you with every problem listed, and nothing from it is recorded.",
    )?;
    row += 1;
    for (a, b) in [
        (QUEUE_LABEL, from.queue_sha256.to_string()),
        ("Snapshot date", from.snapshot_date.to_string()),
        (
            FOR_LABEL,
            format!("{} {}", from.recipient.0, from.recipient.1),
        ),
        (INSTRUMENT_LABEL, instrument.tag()),
        ("Instrument title", instrument.title.clone()),
    ] {
        ws.write_string_with_format(row, 0, a, &bold)?;
        ws.write_string_with_format(row, 1, &b, &para)?;
        row += 1;
    }
    row += 1;
    ws.write_string_with_format(row, 0, "The rating scale", &bold)?;
    row += 1;
    for r in &instrument.scale {
        ws.write_string_with_format(row, 1, r.label.trim(), &para)?;
        row += 1;
    }
    row += 1;
    ws.write_string_with_format(row, 0, "The items", &bold)?;
    row += 1;
    for (i, item) in instrument.items.iter().enumerate() {
        let text = format!(
            "{}. {} ({})\n{}",
            i + 1,
            item.question,
            item.domain,
            item.guidance
        );
        ws.write_string_with_format(row, 0, item_key(&item.id), &para)?;
        ws.write_string_with_format(row, 1, &text, &para)?;
        ws.set_row_height(row, 15 * (text.chars().count().div_ceil(95) as u32 + 1))?;
        row += 1;
    }
    row += 1;
    ws.write_string_with_format(row, 0, "Protective factors", &bold)?;
    row += 1;
    for f in &instrument.protective_factors {
        ws.write_string_with_format(row, 0, factor_key(&f.id), &para)?;
        ws.write_string_with_format(row, 1, format!("{}: {}", f.label, f.prompt), &para)?;
        row += 1;
    }
    ws.set_portrait();
    ws.set_print_fit_to_pages(1, 0);
    crate::export::confidential(ws, from);
    Ok(())
}
