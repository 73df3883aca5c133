//! Supervisor exports: one file per office or supervisor, holding only that
//! recipient's queued cases, in Excel (for people) or CSV (for their tools).
//!
//! The split is done once, from the published queue, by exact match on the
//! recipient column; every file is written atomically with owner-only
//! permissions, and an export manifest lists each file with its recipient,
//! row count and sha256, so a mail-out script can check what it sends.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook};
use safeflag_review::Instrument;
use serde::{Deserialize, Serialize};

use crate::{Error, Result, RunDir};

/// Who receives a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Recipient {
    /// One file per area office.
    Office,
    /// One file per supervisor.
    Supervisor,
}

impl Recipient {
    /// The queue column that names the recipient.
    pub fn column(self) -> &'static str {
        match self {
            Recipient::Office => "office",
            Recipient::Supervisor => "supervisor_id",
        }
    }
    /// `office` or `supervisor`, as file and directory names spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Recipient::Office => "office",
            Recipient::Supervisor => "supervisor",
        }
    }
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Excel workbook, made for people.
    Xlsx,
    /// CSV with the queue's column names.
    Csv,
}

impl ExportFormat {
    /// `xlsx` or `csv`: the files' extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Csv => "csv",
        }
    }
}

/// One exported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedFile {
    /// File name inside the export directory.
    pub file: String,
    /// The office or supervisor it is for.
    pub recipient: String,
    /// Cases in it.
    pub rows: usize,
    /// sha256 of the file.
    pub sha256: String,
}

/// `export-manifest.json`: what was exported, from which run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportManifest {
    /// Always `export_manifest`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The run directory exported.
    pub run: PathBuf,
    /// sha256 of the run's `queue.parquet`, the only source of the exports.
    pub queue_sha256: String,
    /// Office or supervisor.
    pub by: Recipient,
    /// Excel or CSV.
    pub format: ExportFormat,
    /// Cases in the queue; equal to the sum of `rows` over `files`.
    pub cases: usize,
    /// One entry per recipient with queued cases, by recipient name.
    pub files: Vec<ExportedFile>,
}

/// The export manifest's file name.
pub const EXPORT_MANIFEST: &str = "export-manifest.json";

/// The columns exported, in order: (queue column, header for people, width
/// in a workbook).
const COLUMNS: [(&str, &str, f64); 16] = [
    ("file_rank", "#", 4.0),
    ("rank", "Rank tonight", 8.0),
    ("case_id", "Case", 11.0),
    ("child_id", "Lead child", 11.0),
    ("worker_id", "Worker", 10.0),
    ("supervisor_id", "Supervisor", 11.0),
    ("office", "Office", 12.0),
    ("likelihood", "Likelihood", 13.0),
    ("probability", "Probability", 10.0),
    ("band", "Band (1-20)", 9.0),
    ("tier", "Tier", 7.0),
    ("reasons", "Why this case (top reasons)", 32.0),
    ("prompt", "Coaching prompt", 46.0),
    ("other_children", "Other children in the case", 20.0),
    ("status", "History", 10.0),
    ("since_review", "Changed since review", 22.0),
];

/// The workbook's queue sheet, left to right: what is printed, then what an
/// analyst may want on screen, past the print area (the same facts in
/// numbers: the likelihood in words and the tier's colour are printed). The
/// office and supervisor columns are left out when they hold one value in a
/// file (the title names it), and `Changed since review` when it is empty.
const PRINTED: [&str; 13] = [
    "file_rank",
    "case_id",
    "child_id",
    "worker_id",
    "office",
    "supervisor_id",
    "likelihood",
    "tier",
    "reasons",
    "prompt",
    "other_children",
    "status",
    "since_review",
];
const ON_SCREEN: [&str; 3] = ["rank", "probability", "band"];

/// Splits the run's queue by recipient and writes one file each into `out`.
/// Files an earlier export into `out` listed and tonight's does not are
/// removed, so a recipient with no cases tonight is never left last night's
/// file. A workbook also holds the reviewer's sheets, for `instrument`
/// ([`crate::review_sheets`]).
pub fn export(
    run: &RunDir,
    by: Recipient,
    format: ExportFormat,
    out: &Path,
    instrument: &Instrument,
) -> Result<ExportManifest> {
    safeflag_core::output::create_private_dir_all(out).map_err(|source| Error::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let queue = &run.queue;
    let recipients = queue.column(by.column())?.str()?.clone();
    let mut groups: BTreeMap<String, Vec<IdxSize>> = BTreeMap::new();
    for (i, r) in recipients.iter().enumerate() {
        let r = r.ok_or_else(|| Error::Run {
            dir: run.dir.clone(),
            message: format!("queue row {} has no {}", i + 1, by.column()),
        })?;
        groups.entry(r.to_string()).or_default().push(i as IdxSize);
    }
    // A fixed creation date (the snapshot's), so a rerun gives the same bytes.
    let created = run
        .manifest
        .snapshot_date
        .as_deref()
        .and_then(|d| ExcelDateTime::parse_from_str(d).ok())
        .map_or_else(|| ExcelDateTime::from_ymd(2000, 1, 1), Ok)?;

    let queue_path = run.dir.join("queue.parquet");
    let queue_sha256 =
        safeflag_core::output::sha256_file(&queue_path).map_err(|source| Error::Io {
            path: queue_path.clone(),
            source,
        })?;
    let mut files = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for (recipient, rows) in &groups {
        let file = file_name(by, recipient, format, run.manifest.snapshot_date.as_deref());
        if let Some(other) = names.insert(file.clone(), recipient.clone()) {
            return Err(Error::Run {
                dir: run.dir.clone(),
                message: format!(
                    "recipients `{other}` and `{recipient}` would share the file name `{file}`"
                ),
            });
        }
        let mut part = queue.take(&IdxCa::from_vec("idx".into(), rows.clone()))?;
        part.with_column(Column::new(
            "file_rank".into(),
            (1..=rows.len() as u32).collect::<Vec<u32>>(),
        ))?;
        let present: Vec<&str> = COLUMNS
            .iter()
            .map(|c| c.0)
            .filter(|c| part.column(c).is_ok())
            .collect();
        let mut part = part.select(present)?;
        let path = out.join(&file);
        match format {
            ExportFormat::Csv => safeflag_ingest::write_frame(&mut part, &path)?,
            ExportFormat::Xlsx => {
                let full = queue.take(&IdxCa::from_vec("idx".into(), rows.clone()))?;
                let from = crate::review_sheets::Provenance {
                    queue_sha256: &queue_sha256,
                    recipient: (by.as_str(), recipient),
                    snapshot_date: run.manifest.snapshot_date.as_deref().unwrap_or("(unknown)"),
                };
                let bytes = workbook(&part, &full, run, &created, instrument, &from, by.column())?;
                safeflag_core::output::write_bytes_atomic(&path, &bytes)?;
            }
        }
        let sha256 = safeflag_core::output::sha256_file(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        files.push(ExportedFile {
            file,
            recipient: recipient.clone(),
            rows: rows.len(),
            sha256,
        });
    }

    remove_stale(out, &names);
    let manifest = ExportManifest {
        kind: "export_manifest".into(),
        run: run.label.clone(),
        queue_sha256,
        by,
        format,
        cases: queue.height(),
        files,
    };
    let mut bytes = serde_json::to_vec_pretty(&manifest)?;
    bytes.push(b'\n');
    safeflag_core::output::write_bytes_atomic(&out.join(EXPORT_MANIFEST), &bytes)?;
    Ok(manifest)
}

/// Removes files a previous export manifest in `out` listed that tonight's did not write.
fn remove_stale(out: &Path, written: &BTreeMap<String, String>) {
    let Ok(bytes) = std::fs::read(out.join(EXPORT_MANIFEST)) else {
        return;
    };
    let Ok(old) = serde_json::from_slice::<ExportManifest>(&bytes) else {
        return;
    };
    for f in old.files {
        // Only plain file names we wrote ourselves; never a path.
        if !written.contains_key(&f.file) && !f.file.contains(['/', '\\']) {
            let _ = std::fs::remove_file(out.join(&f.file));
        }
    }
}

/// The longest readable part of a file name.
pub const SLUG_CHARS: usize = 48;

/// A recipient's file: `office-northside-1a2b3c4d-2025-11-21.xlsx`. The
/// readable part is the name in lowercase ASCII letters and digits (at most
/// 48 of them); the 8 hex digits are the start of the sha256 of the exact
/// name, so two recipients whose names differ only in case, punctuation or
/// non-ASCII letters, or in what lies past the 48th character, still get
/// files of their own, and a recipient's files sort by night. The date is
/// the snapshot's (left out when the run has none); it is checked to be a
/// plain `YYYY-MM-DD`, so nothing else can enter the name.
pub fn file_name(
    by: Recipient,
    recipient: &str,
    format: ExportFormat,
    snapshot_date: Option<&str>,
) -> String {
    let hash = safeflag_core::output::sha256_bytes(recipient.as_bytes());
    let date = snapshot_date
        .filter(|d| {
            d.len() == 10
                && d.bytes().enumerate().all(|(i, b)| {
                    if i == 4 || i == 7 {
                        b == b'-'
                    } else {
                        b.is_ascii_digit()
                    }
                })
        })
        .map(|d| format!("-{d}"))
        .unwrap_or_default();
    format!(
        "{}-{}-{}{date}.{}",
        by.as_str(),
        slug(recipient),
        &hash[..8],
        format.extension()
    )
}

/// The readable part of a file name: lowercase ASCII letters and digits,
/// runs of anything else as one `-`, at most [`SLUG_CHARS`] characters.
pub fn slug(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    let s: String = s.trim_matches('-').chars().take(SLUG_CHARS).collect();
    let s = s.trim_end_matches('-');
    if s.is_empty() {
        "unnamed".into()
    } else {
        s.to_string()
    }
}

/// Excel's limit on the characters in one cell.
pub const CELL_LIMIT: usize = 32_767;

/// A cell's text, cut to Excel's limit with a note saying so.
pub(crate) fn fit_cell(v: &str) -> std::borrow::Cow<'_, str> {
    const NOTE: &str = " [cut: longer than an Excel cell holds]";
    if v.chars().count() <= CELL_LIMIT {
        return v.into();
    }
    let kept: String = v.chars().take(CELL_LIMIT - NOTE.chars().count()).collect();
    (kept + NOTE).into()
}

/// The fill colour of a tier: the same colours as the HTML report.
pub fn tier_colour(tier: &str) -> u32 {
    match tier {
        "high" => 0xF4C7C3,
        "medium" => 0xFCE8B2,
        _ => 0xD9EAD3,
    }
}

/// The columns of a recipient's queue sheet, and how many of them print.
fn sheet_columns(part: &DataFrame) -> Result<(Vec<&'static str>, usize)> {
    let constant = |name: &str| -> Result<bool> {
        Ok(match part.column(name) {
            Ok(c) => part.height() > 0 && c.as_materialized_series().n_unique()? == 1,
            Err(_) => true,
        })
    };
    let empty = |name: &str| -> Result<bool> {
        Ok(match part.column(name) {
            Ok(c) => c.str()?.iter().all(|v| v.is_none_or(str::is_empty)),
            Err(_) => true,
        })
    };
    let mut printed = Vec::new();
    for name in PRINTED {
        let skip = part.column(name).is_err()
            || (matches!(name, "office" | "supervisor_id") && constant(name)?)
            || (name == "since_review" && empty(name)?);
        if !skip {
            printed.push(name);
        }
    }
    let n = printed.len();
    printed.extend(ON_SCREEN.iter().filter(|c| part.column(c).is_ok()));
    Ok((printed, n))
}

/// A header or footer's text: cut to 100 characters (so the whole header
/// stays within Excel's 255), then `&` doubled (it starts a code there;
/// doubling after the cut never leaves half a pair).
fn header_text(s: &str) -> String {
    s.chars().take(100).collect::<String>().replace('&', "&&")
}

/// The printed header and footer every sheet of a workbook carries.
pub(crate) fn confidential(
    ws: &mut rust_xlsxwriter::Worksheet,
    from: &crate::review_sheets::Provenance<'_>,
) {
    let (by, recipient) = from.recipient;
    let who: String = recipient.chars().take(60).collect();
    ws.set_header(format!(
        "&L&\"-,Bold\"CONFIDENTIAL&C{}&RPage &P of &N",
        header_text(&format!(
            "safeflag queue: {by} {who}, snapshot {}",
            from.snapshot_date
        ))
    ));
    ws.set_footer(format!(
        "&LConfidential child-welfare case information: do not forward or leave printed copies out.&R{}",
        header_text(from.snapshot_date)
    ));
    ws.set_margins(0.4, 0.4, 0.7, 0.7, 0.3, 0.3);
}

/// Lines a text takes in a column `width` characters wide (at least one).
fn lines(text: &str, width: f64) -> u32 {
    let per_line = (width * 1.2).max(1.0) as usize;
    text.split('\n')
        .map(|l| l.chars().count().div_ceil(per_line).max(1))
        .sum::<usize>() as u32
}

fn workbook(
    part: &DataFrame,
    full: &DataFrame,
    run: &RunDir,
    created: &ExcelDateTime,
    instrument: &Instrument,
    from: &crate::review_sheets::Provenance<'_>,
    own_column: &str,
) -> Result<Vec<u8>> {
    let (by, recipient) = from.recipient;
    let date = from.snapshot_date;
    let mut wb = Workbook::new();
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!(
                "safeflag queue for {by} {recipient}, snapshot {date} (confidential)"
            ))
            .set_creation_datetime(created),
    );
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Top)
        .set_background_color(0x1F3A5F)
        .set_font_color(0xFFFFFF)
        .set_border(FormatBorder::Thin);
    let title = Format::new().set_bold().set_font_size(13);
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    let pct = Format::new()
        .set_num_format("0.0%")
        .set_align(FormatAlign::Top);
    let int = Format::new().set_align(FormatAlign::Top);

    let (names, printed) = sheet_columns(part)?;
    let constant_of = |name: &str| -> Option<String> {
        let kept = names.contains(&name) || part.column(name).is_err() || part.height() == 0;
        (!kept && name != own_column)
            .then(|| {
                part.column(name)
                    .ok()?
                    .str()
                    .ok()?
                    .get(0)
                    .map(str::to_string)
            })
            .flatten()
    };
    let mut heading = format!(
        "CONFIDENTIAL: safeflag queue for {by} {recipient}, snapshot {date}: {} case(s), highest risk first",
        part.height()
    );
    for (name, what) in [("office", "office"), ("supervisor_id", "supervisor")] {
        if let Some(v) = constant_of(name) {
            heading.push_str(&format!("; {what} {v}"));
        }
    }

    let ws = wb.add_worksheet();
    ws.set_name("Queue")?;
    ws.write_string_with_format(0, 0, fit_cell(&heading).as_ref(), &title)?;
    ws.set_row_height(0, 20)?;
    const HEAD: u32 = 1;
    let width_of = |name: &str| COLUMNS.iter().find(|c| c.0 == name).map_or(12.0, |c| c.2);
    for (j, name) in names.iter().enumerate() {
        let title = COLUMNS.iter().find(|c| c.0 == *name).map_or(*name, |c| c.1);
        ws.write_string_with_format(HEAD, j as u16, title, &header)?;
        ws.set_column_width(j as u16, width_of(name))?;
    }
    ws.set_freeze_panes(HEAD + 1, 0)?;
    // Row heights are set, not left to the reader: LibreOffice and some Excel
    // versions do not grow a row for wrapped text they did not write.
    ws.set_row_height(HEAD, 30)?;
    let tiers = part.column("tier")?.str()?.clone();
    for i in 0..part.height() {
        let row = HEAD + 1 + i as u32;
        let mut most = 1u32;
        for name in &names {
            if let Ok(v) = part.column(name).and_then(|c| c.str().cloned()) {
                most = most.max(lines(v.get(i).unwrap_or_default(), width_of(name)));
            }
        }
        ws.set_row_height(row, 15 * most)?;
        let colour = tier_colour(tiers.get(i).unwrap_or_default());
        let band = Format::new()
            .set_background_color(colour)
            .set_align(FormatAlign::Top)
            .set_bold();
        for (j, name) in names.iter().enumerate() {
            let col = part.column(name)?.as_materialized_series();
            let j = j as u16;
            match col.dtype() {
                DataType::String => {
                    let v = col.str()?.get(i).unwrap_or_default();
                    let f = if *name == "tier" { &band } else { &wrap };
                    ws.write_string_with_format(row, j, fit_cell(v).as_ref(), f)?;
                }
                _ => {
                    let v = col
                        .cast(&DataType::Float64)?
                        .f64()?
                        .get(i)
                        .unwrap_or(f64::NAN);
                    let f = match *name {
                        "probability" => &pct,
                        "band" => &band,
                        _ => &int,
                    };
                    ws.write_number_with_format(row, j, v, f)?;
                }
            }
        }
    }
    let last_row = HEAD + part.height() as u32;
    if part.height() > 0 {
        ws.autofilter(HEAD, 0, last_row, (names.len() - 1) as u16)?;
    }
    // On paper: landscape, the printed columns one page wide, the title and
    // header on every page.
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(0, HEAD)?;
    ws.set_print_area(0, 0, last_row, (printed.max(1) - 1) as u16)?;
    confidential(ws, from);

    let help = wb.add_worksheet();
    help.set_name("How to read")?;
    // Narrow enough for a portrait page at full size, whatever the font.
    const HELP_WIDTH: f64 = 80.0;
    help.set_column_width(0, HELP_WIDTH)?;
    let big = Format::new().set_bold().set_font_size(14).set_text_wrap();
    let para = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    let heading = format!("How to read this queue: {by} {recipient}, snapshot {date}");
    help.write_string_with_format(0, 0, fit_cell(&heading).as_ref(), &big)?;
    help.set_row_height(0, 20 * lines(&heading, HELP_WIDTH * 0.75))?;
    let model = &run.manifest.model.id;
    let synthetic = run.manifest.model.synthetic;
    let mut paragraphs: Vec<String> = vec![
        "CONFIDENTIAL: this file holds child-welfare case information. Keep it on agency systems, do not forward it, and do not leave printed copies out.".into(),
        format!(
            "These are the flagged cases for {by} {recipient} on {date}, highest risk first. Each case appears once, led by its highest-risk child; its other children are listed with their own likelihood."
        ),
        "What to do: a reviewer discusses each case with the worker and supervisor within one business day, using the coaching prompt as the starting point. The prompt is a suggestion for practice, not an instruction.".into(),
        "Likelihood is the model's estimate of the chance of a critical incident in this case, for children like this one in cases like this one. Tier groups the cases: high (red), medium (amber), low (green). On screen, past the printed columns, are the case's rank among all cases tonight, the probability as a number and its band (1-20; 20 = the highest twentieth of all scored children).".into(),
        "The reasons are the three factors that raised this child's score the most, computed exactly from the model; they are facts already in the case record, not findings. An analyst can show every factor of any child, flagged or not, with safeflag explain.".into(),
        "What the score is NOT: it is not evidence of maltreatment, not a finding about the family, and not a certainty. Most flagged cases will never have a critical incident; some cases that are not flagged will. It must never be used on its own to open, escalate or close a case, or to remove a child.".into(),
        "Professional judgement comes first: if what you know of the family disagrees with the score, record why in the review.".into(),
        format!(
            "Run: model {model}; input {}; this file holds {} case(s) and only cases of this {by}.",
            run.manifest.input.path.display(),
            part.height(),
        ),
    ];
    if synthetic {
        paragraphs.push("This run used a model trained on SYNTHETIC data; its scores are for demonstration only.".into());
    }
    for (i, text) in paragraphs.iter().enumerate() {
        let row = (i + 2) as u32;
        help.write_string_with_format(row, 0, fit_cell(text).as_ref(), &para)?;
        help.set_row_height(row, 15 * lines(text, HELP_WIDTH) + 6)?;
    }
    help.set_portrait();
    help.set_print_fit_to_pages(1, 0);
    confidential(help, from);
    crate::review_sheets::add(&mut wb, full, instrument, from)?;
    Ok(wb.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names that differ only in case, punctuation or non-ASCII letters, or
    /// past the readable part, get distinct, valid, stable file names.
    #[test]
    fn every_recipient_gets_a_file_name_of_its_own() {
        let long = "N".repeat(300);
        let names = [
            "Northside",
            "NORTHSIDE",
            "North-side",
            "North side",
            "Ωμέγα",
            "Δέλτα",
            "",
            &long,
            &format!("{long}x"),
            "../../etc/passwd",
        ];
        let files: Vec<String> = names
            .iter()
            .map(|n| file_name(Recipient::Office, n, ExportFormat::Xlsx, Some("2025-11-21")))
            .collect();
        let unique: std::collections::BTreeSet<&String> = files.iter().collect();
        assert_eq!(unique.len(), names.len(), "{files:?}");
        for f in &files {
            assert!(f.len() <= 80, "{f}");
            assert!(
                f.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
                "{f}"
            );
        }
        assert_eq!(
            files[0],
            file_name(
                Recipient::Office,
                "Northside",
                ExportFormat::Xlsx,
                Some("2025-11-21")
            )
        );
        assert!(files[0].ends_with("-2025-11-21.xlsx"), "{}", files[0]);
        // A date that is not a plain date never enters the name.
        let odd = file_name(Recipient::Office, "N", ExportFormat::Csv, Some("../x"));
        assert!(!odd.contains(".."), "{odd}");
        assert!(files[0].starts_with("office-northside-"), "{}", files[0]);
        assert!(files[4].starts_with("office-unnamed-"), "{}", files[4]);
    }

    #[test]
    fn a_cell_over_excels_limit_is_cut_and_says_so() {
        let v = "é".repeat(CELL_LIMIT + 10);
        let cut = fit_cell(&v);
        assert_eq!(cut.chars().count(), CELL_LIMIT);
        assert!(cut.ends_with("longer than an Excel cell holds]"));
        assert_eq!(fit_cell("short"), "short");
    }

    /// A recipient's name in the printed header: every `&` doubled, never
    /// half a pair, and short enough for Excel's 255 characters.
    #[test]
    fn header_text_escapes_codes_and_stays_short() {
        assert_eq!(header_text("A&B"), "A&&B");
        let long = "&".repeat(300);
        let h = header_text(&long);
        assert_eq!(h.len(), 200);
        assert!(h.chars().all(|c| c == '&'));
        assert_eq!(header_text(&"x".repeat(300)).len(), 100);
    }
}
