//! The reviewer's sheets of the exported workbooks, read back by readers that
//! are not the writer: calamine for the cells, and the sheets' own XML
//! (unzipped here) for the drop-downs and date checks Excel enforces.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use calamine::{Data, Reader, Xlsx, open_workbook};
use polars::prelude::*;
use safeflag_review::Instrument;

use crate::*;

/// One data validation of a sheet: its type, the cells it covers, its formula.
#[derive(Debug)]
struct Validation {
    kind: String,
    cells: Vec<(u32, u32)>,
    formula: String,
}

/// `AB12` -> (row 11, column 27), 0-based.
fn cell(r: &str) -> (u32, u32) {
    let letters: String = r.chars().take_while(|c| c.is_ascii_uppercase()).collect();
    let col = letters
        .bytes()
        .fold(0u32, |n, b| n * 26 + u32::from(b - b'A' + 1))
        - 1;
    let row: u32 = r[letters.len()..].parse().unwrap();
    (row - 1, col)
}

fn attr(tag: &str, name: &str) -> String {
    // The split that found the tag took the space before its first attribute.
    let tag = format!(" {tag}");
    let key = format!(" {name}=\"");
    tag.find(&key)
        .map(|i| {
            let rest = &tag[i + key.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .unwrap_or_default()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The data validations of the `n`th sheet (1-based) of an xlsx file.
fn validations(path: &Path, n: usize) -> Vec<Validation> {
    let mut zip = ::zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut xml = String::new();
    zip.by_name(&format!("xl/worksheets/sheet{n}.xml"))
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    xml.split("<dataValidation ")
        .skip(1)
        .map(|chunk| {
            let tag = &chunk[..chunk.find('>').unwrap()];
            let mut cells = Vec::new();
            for range in attr(tag, "sqref").split(' ') {
                let (a, b) = range.split_once(':').unwrap_or((range, range));
                let ((r0, c0), (r1, c1)) = (cell(a), cell(b));
                for r in r0..=r1 {
                    for c in c0..=c1 {
                        cells.push((r, c));
                    }
                }
            }
            let formula = chunk
                .split_once("<formula1>")
                .map(|(_, f)| unescape(&f[..f.find("</formula1>").unwrap()]))
                .unwrap_or_default();
            Validation {
                kind: attr(tag, "type"),
                cells,
                formula,
            }
        })
        .collect()
}

/// What validates one cell: (type, formula), or nothing.
fn rule_of(v: &[Validation], at: (u32, u32)) -> Option<(&str, &str)> {
    let found: Vec<&Validation> = v.iter().filter(|v| v.cells.contains(&at)).collect();
    assert!(found.len() <= 1, "two validations on {at:?}");
    found.first().map(|v| (v.kind.as_str(), v.formula.as_str()))
}

/// The queue's review facts by case: (case_type, youngest_age_days).
fn facts(run: &Path) -> BTreeMap<String, (String, Option<i64>)> {
    let df = ParquetReader::new(std::fs::File::open(run.join("queue.parquet")).unwrap())
        .finish()
        .unwrap();
    let case = df.column("case_id").unwrap().str().unwrap().clone();
    let ty = df.column("case_type").unwrap().str().unwrap().clone();
    let age = df
        .column("youngest_age_days")
        .unwrap()
        .i64()
        .unwrap()
        .clone();
    (0..df.height())
        .map(|i| {
            (
                case.get(i).unwrap().to_string(),
                (ty.get(i).unwrap().to_string(), age.get(i)),
            )
        })
        .collect()
}

#[test]
fn review_sheets_ask_each_case_the_items_that_apply_with_drop_downs_and_date_checks() {
    let dir = tempfile::tempdir().unwrap();
    let o = score_with(
        dir.path(),
        &sample("snapshot.csv"),
        &["--out", "run", "--top", "400"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run = dir.path().join("run");
    let facts = facts(&run);
    // Every queued case carries its facts; the sample has infants and older children.
    assert!(facts.values().any(|f| f.1.is_some_and(|a| a < 365)));
    assert!(facts.values().any(|f| f.1.is_some_and(|a| a >= 365)));
    for out in ["x1", "x2"] {
        let o = safeflag(dir.path(), &["export", "run", "--out", out]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let instrument = Instrument::builtin();
    let labels: Vec<&str> = instrument.scale.iter().map(|r| r.label.as_str()).collect();
    let na = instrument.not_applicable().label.as_str();
    let full_scale = format!("\"{}\"", labels.join(","));
    let only_na = format!("\"{na}\"");
    let (mut asked, mut not_asked, mut cases_seen) = (0, 0, 0);
    for entry in std::fs::read_dir(dir.path().join("x1")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if !name.ends_with(".xlsx") {
            continue;
        }
        let path = dir.path().join("x1").join(&name);
        // Byte-identical on a rerun.
        assert!(
            std::fs::read(&path).unwrap()
                == std::fs::read(dir.path().join("x2").join(&name)).unwrap(),
            "{name} differs between two exports"
        );
        let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
        assert_eq!(
            wb.sheet_names(),
            vec!["Queue", "How to read", "Review", "Actions", "Instructions"]
        );
        let review = wb.worksheet_range("Review").unwrap();
        let rows: Vec<&[Data]> = review.rows().collect();
        let keys: Vec<String> = rows[1].iter().map(|c| c.to_string()).collect();
        let mut want_keys: Vec<String> = [
            "case_id",
            "child_id",
            "case_type",
            "worker_id",
            "reasons",
            "prompt",
        ]
        .map(String::from)
        .to_vec();
        want_keys.extend(instrument.items.iter().map(|i| format!("item:{}", i.id)));
        want_keys.extend(
            instrument
                .protective_factors
                .iter()
                .map(|f| format!("factor:{}", f.id)),
        );
        want_keys.extend(
            [
                "consultation_date",
                "consultation_attendees",
                "disposition",
                "override_reason",
                "reviewer",
                "review_date",
            ]
            .map(String::from),
        );
        assert_eq!(keys, want_keys, "{name}");
        let col = |k: &str| keys.iter().position(|x| x == k).unwrap() as u32;
        let v = validations(&path, 3);
        // The queue sheet's cases, in order, are the review sheet's.
        let queue = wb.worksheet_range("Queue").unwrap();
        let queued: Vec<String> = queue.rows().skip(1).map(|r| r[2].to_string()).collect();
        let reviewed: Vec<String> = rows[2..].iter().map(|r| r[0].to_string()).collect();
        assert_eq!(reviewed, queued, "{name}");
        for (r, row) in rows.iter().enumerate().skip(2) {
            let r = r as u32;
            let (case_type, age) = &facts[&row[0].to_string()];
            assert_eq!(&row[col("case_type") as usize].to_string(), case_type);
            cases_seen += 1;
            for item in &instrument.items {
                // When the item applies, worked out here from the file's rule.
                let by_age = match (item.applies.youngest_under_days, age) {
                    (Some(limit), Some(a)) => *a < i64::from(limit),
                    _ => true,
                };
                let by_type = item
                    .applies
                    .case_types
                    .as_ref()
                    .is_none_or(|t| t.contains(case_type));
                let c = col(&format!("item:{}", item.id));
                let value = row[c as usize].to_string();
                let rule = rule_of(&v, (r, c)).unwrap_or_else(|| panic!("no drop-down at {r},{c}"));
                if by_age && by_type {
                    asked += 1;
                    assert_eq!(value, "", "{name} {} {}", row[0], item.id);
                    assert_eq!(rule, ("list", full_scale.as_str()));
                } else {
                    not_asked += 1;
                    assert_eq!(value, na, "{name} {} {}", row[0], item.id);
                    assert_eq!(rule, ("list", only_na.as_str()));
                }
            }
            for f in &instrument.protective_factors {
                let c = col(&format!("factor:{}", f.id));
                assert_eq!(rule_of(&v, (r, c)), Some(("list", "\"Yes,No\"")));
            }
            for k in ["consultation_date", "review_date"] {
                assert_eq!(rule_of(&v, (r, col(k))).map(|x| x.0), Some("date"), "{k}");
            }
            assert_eq!(
                rule_of(&v, (r, col("disposition"))),
                Some(("list", "\"coached,no_concerns,escalated,override\""))
            );
            for k in ["consultation_attendees", "override_reason", "reviewer"] {
                assert_eq!(rule_of(&v, (r, col(k))), None, "{k} is free text");
            }
        }
        // No drop-down strays below the cases.
        let last = rows.len() as u32;
        assert!(
            v.iter()
                .all(|x| x.cells.iter().all(|c| c.0 >= 2 && c.0 < last))
        );

        // The action items: a case of this workbook, dates, a status.
        let actions = wb.worksheet_range("Actions").unwrap();
        let keys: Vec<String> = actions
            .rows()
            .nth(1)
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            keys,
            [
                "case_id",
                "action",
                "owner",
                "due_date",
                "status",
                "completed_on"
            ]
        );
        let v = validations(&path, 4);
        let n = reviewed.len() as u32;
        assert_eq!(
            rule_of(&v, (2, 0)),
            Some(("list", format!("Review!$A$3:$A${}", n + 2).as_str()))
        );
        assert_eq!(rule_of(&v, (2, 3)).map(|x| x.0), Some("date"));
        assert_eq!(rule_of(&v, (2, 4)), Some(("list", "\"open,done,dropped\"")));
        assert_eq!(rule_of(&v, (2, 5)).map(|x| x.0), Some("date"));
        assert_eq!(rule_of(&v, (2, 1)), None, "the action is free text");

        // The instructions name the run, the recipient and the instrument.
        let text: String = wb
            .worksheet_range("Instructions")
            .unwrap()
            .rows()
            .flat_map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(text.contains(&instrument.tag()), "{text}");
        for item in &instrument.items {
            assert!(text.contains(&item.guidance), "{}", item.id);
        }
    }
    assert_eq!(
        cases_seen,
        facts.len(),
        "every queued case is on a review sheet"
    );
    assert!(
        asked > 0 && not_asked > 0,
        "asked {asked}, not asked {not_asked}"
    );
}

#[test]
fn a_bad_instrument_stops_the_export_naming_the_file_and_the_item() {
    let dir = tempfile::tempdir().unwrap();
    let o = score_with(
        dir.path(),
        &sample("snapshot.csv"),
        &["--out", "run", "--top", "10"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let bad = safeflag_review::instrument::BUILTIN_INSTRUMENT.replace(
        "applies = { youngest_under_days = 365 }",
        "applies = { case_types = [\"foster_care\"] }",
    );
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let o = safeflag(
        dir.path(),
        &["export", "run", "--out", "x", "--instrument", "bad.toml"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("bad.toml"), "{err}");
    assert!(
        err.contains("item `safe_sleep_education`: `foster_care` is not a case type"),
        "{err}"
    );
    assert!(!dir.path().join("x").join("export-manifest.json").exists());
}
