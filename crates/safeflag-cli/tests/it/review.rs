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
        // Its title row, its header, then the cases (the case in column 2).
        let mut q = queue.rows();
        assert!(q.next().unwrap()[0].to_string().starts_with("CONFIDENTIAL"));
        let header = q.next().unwrap();
        assert_eq!(header[1].to_string(), "Case");
        let queued: Vec<String> = q.map(|r| r[1].to_string()).collect();
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

/// Whether python3 with openpyxl is here (`.ci/run` installs it); the
/// round trip says it skipped otherwise.
fn openpyxl() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import openpyxl"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Fills `src` into `dir/dst` with openpyxl (`tests/py/fill_workbook.py`):
/// `cases` review rows from the top, answers varied by `seed`, then `edits`.
fn fill(
    dir: &Path,
    src: &Path,
    dst: &str,
    cases: usize,
    seed: u32,
    edits: &[String],
) -> serde_json::Value {
    let script = repo().join("crates/safeflag-cli/tests/py/fill_workbook.py");
    let o = std::process::Command::new("python3")
        .arg(script)
        .arg(src)
        .arg(dir.join(dst))
        .arg(cases.to_string())
        .arg(seed.to_string())
        .args(edits)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn import(dir: &Path, file: &str) -> std::process::Output {
    safeflag(dir, &["reviews", "import", file, "--json"])
}

/// Every recorded version of every review and action of `cases`.
fn recorded(
    dir: &Path,
    cases: &[String],
) -> (
    Vec<safeflag_history::ReviewVersion>,
    Vec<safeflag_history::ActionVersion>,
) {
    let store = safeflag_history::Store::open(&dir.join("state/history.sqlite")).unwrap();
    let mut r = Vec::new();
    let mut a = Vec::new();
    for c in cases {
        r.extend(store.review_versions(c).unwrap());
        a.extend(store.action_versions(c).unwrap());
    }
    (r, a)
}

/// Excel's name of a 1-based column.
fn letter(col: u64) -> String {
    let mut n = col;
    let mut s = String::new();
    while n > 0 {
        s.insert(0, (b'A' + ((n - 1) % 26) as u8) as char);
        n = (n - 1) / 26;
    }
    s
}

#[test]
fn a_returned_workbook_round_trips_into_the_history_and_every_bad_cell_refuses_it() {
    if !openpyxl() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: python3 with openpyxl is not installed (.ci/run installs it)");
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::nightly::setup(d);
    let o = crate::nightly::nightly(d, "2025-11-21");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let exports = d.join("out/runs/2025-11-21/exports/office-xlsx");
    let mut books: Vec<_> = std::fs::read_dir(&exports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xlsx"))
        .collect();
    books.sort();
    let book = &books[0];
    let instrument = Instrument::builtin();

    // Filled by openpyxl: four reviews, two actions.
    let filled = fill(d, book, "filled.xlsx", 4, 0, &[]);
    let v = &filled["validations"];
    assert!(v["Review"]["list"].as_u64().unwrap() > 0, "{v}");
    assert!(v["Review"]["date"].as_u64().unwrap() > 0, "{v}");
    assert!(v["Actions"]["list"].as_u64().unwrap() >= 2, "{v}");
    assert!(v["Actions"]["date"].as_u64().unwrap() >= 2, "{v}");
    let reviews = filled["reviews"].as_object().unwrap();
    assert_eq!(reviews.len(), 4);
    let cases: Vec<String> = reviews.keys().cloned().collect();
    let o = import(d, "filled.xlsx");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let done: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(done["recorded"]["reviews_new"], 4, "{done}");
    assert_eq!(done["recorded"]["actions_new"], 2, "{done}");
    assert_eq!(done["instrument"], instrument.tag());

    // The history holds exactly what was filled in.
    let (versions, actions) = recorded(d, &cases);
    assert_eq!(versions.len(), 4);
    for v in &versions {
        let case = cases
            .iter()
            .find(|c| {
                reviews[c.as_str()]["reviewer"] == v.reviewer.as_str()
                    && reviews[c.as_str()]["review_date"] == v.review_date.as_str()
                    && recorded(d, &[c.to_string()]).0.contains(v)
            })
            .unwrap();
        let want = &reviews[case.as_str()];
        assert_eq!(v.version, 1);
        assert_eq!(v.instrument, instrument.tag());
        assert_eq!(want["disposition"], v.disposition.as_str());
        assert_eq!(
            want["consultation_date"],
            v.consultation_date.as_deref().unwrap()
        );
        assert_eq!(v.attendees.as_deref(), Some("worker; supervisor"));
        let ratings: BTreeMap<String, String> = want["ratings"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, label)| {
                (
                    k.clone(),
                    instrument
                        .rating(label.as_str().unwrap())
                        .unwrap()
                        .code
                        .clone(),
                )
            })
            .collect();
        assert_eq!(v.ratings, ratings, "{case}");
        let factors: BTreeMap<String, bool> = want["factors"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, b)| (k.clone(), b.as_bool().unwrap()))
            .collect();
        assert_eq!(v.factors, factors, "{case}");
    }
    let want_actions = filled["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 2);
    for w in want_actions {
        let a = actions
            .iter()
            .find(|a| w["action"] == a.action.as_str())
            .unwrap();
        assert_eq!(w["owner"], a.owner.as_str());
        assert_eq!(w["due_date"], a.due_date.as_str());
        assert_eq!(w["status"], a.status.as_str());
        assert_eq!(w["completed_on"].as_str(), a.completed_on.as_deref());
    }
    // The night's suppression sees the reviews.
    let o = safeflag(d, &["history", &cases[0], "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains(reviews[cases[0].as_str()]["disposition"].as_str().unwrap()));

    // The practice measures count what was filled in: four reviews dated
    // 24, 25, 26 and 24 November for cases flagged on Friday 21 November,
    // so two within one business day (Monday 24).
    let o = safeflag(d, &["reviews", "report", "--as-of", "2025-11-30", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(m["flags"]["flagged"], 50, "{m}");
    assert_eq!(m["flags"]["reviewed"], 4, "{m}");
    assert_eq!(m["flags"]["reviewed_on_time"], 2, "{m}");
    assert_eq!(m["flags"]["pending"], 0, "{m}");
    assert_eq!(m["consultations"]["consulted"], 4, "{m}");
    assert_eq!(m["consultations"]["within_deadline"], 2, "{m}");
    assert_eq!(m["actions"]["total"], 2, "{m}");
    assert_eq!(m["actions"]["done_on_time"], 1, "{m}");
    assert_eq!(m["actions"]["open"], 1, "{m}");

    // The same workbook again: nothing changes.
    let o = import(d, "filled.xlsx");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let again: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(again["recorded"]["reviews_unchanged"], 4, "{again}");
    assert_eq!(again["recorded"]["reviews_new"], 0);
    assert_eq!(again["recorded"]["actions_unchanged"], 2);
    assert_eq!(recorded(d, &cases), (versions.clone(), actions.clone()));

    // A copy re-saved by LibreOffice (real users save with other programs):
    // the same answers, so nothing changes.
    match ["soffice", "libreoffice"].into_iter().find(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) {
        None => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "skipped: LibreOffice (soffice) is not installed; the re-saved copy was not tried (.ci/run installs it)"
                );
            }
        }
        Some(bin) => {
            let o = std::process::Command::new(bin)
                .args(["--headless", "--convert-to", "xlsx", "--outdir"])
                .arg(d.join("resaved"))
                .arg(d.join("filled.xlsx"))
                .env("HOME", d)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            std::fs::copy(d.join("resaved/filled.xlsx"), d.join("resaved.xlsx")).unwrap();
            assert_ne!(
                std::fs::read(d.join("resaved.xlsx")).unwrap(),
                std::fs::read(d.join("filled.xlsx")).unwrap(),
                "LibreOffice wrote its own file"
            );
            let o = import(d, "resaved.xlsx");
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
            assert_eq!(r["recorded"]["reviews_unchanged"], 4, "{r}");
            assert_eq!(r["recorded"]["actions_unchanged"], 2, "{r}");
            assert_eq!(recorded(d, &cases), (versions.clone(), actions.clone()));
        }
    }

    // The re-review schedule holds what was filled in: 91 days after the
    // review dates (24-26 November), with nothing flagged by its score, the
    // reviewed cases come back as re-reviews, but for any out of home (a
    // child removed) or whose youngest child turns three by its due date.
    let config = std::fs::read_to_string(d.join("safeflag.toml")).unwrap();
    std::fs::write(
        d.join("safeflag.toml"),
        config.replace("top = 50\n", "top = 50\nthreshold = 0.999\n"),
    )
    .unwrap();
    let o = crate::nightly::nightly(d, "2026-02-25");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let night1 = facts(&d.join("out/runs/2025-11-21"));
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let want: std::collections::BTreeSet<String> = cases
        .iter()
        .filter(|c| {
            let due =
                day(reviews[c.as_str()]["review_date"].as_str().unwrap()) + chrono::Days::new(91);
            night1[c.as_str()].0 != "out_of_home"
                && night1[c.as_str()].1.is_none_or(|age| {
                    let birth = day("2025-11-21") - chrono::Days::new(age as u64);
                    birth + chrono::Months::new(36) > due
                })
        })
        .cloned()
        .collect();
    let q = read_csv(&d.join("out/runs/2026-02-25/queue.csv"));
    let ids = q.column("case_id").unwrap().str().unwrap();
    let status = q.column("status").unwrap().str().unwrap();
    let got: std::collections::BTreeSet<String> =
        ids.iter().map(|c| c.unwrap().to_string()).collect();
    assert_eq!(got, want);
    assert!(!want.is_empty());
    assert!(status.iter().all(|s| s == Some("re-review")));

    // Changed answers: a new version beside the old, never an overwrite.
    let changed = fill(d, book, "changed.xlsx", 4, 1, &[]);
    let o = import(d, "changed.xlsx");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(c["recorded"]["reviews_changed"], 4, "{c}");
    let (after, _) = recorded(d, &cases);
    assert_eq!(after.len(), 8);
    for v in &versions {
        assert!(after.contains(v), "version 1 kept: {v:?}");
    }
    assert!(after.iter().filter(|v| v.version == 2).count() == 4);
    assert_ne!(changed["reviews"], filled["reviews"]);

    // Refusals: each breaks one rule; nothing is recorded from any of them.
    let keys = filled["keys"].as_object().unwrap();
    let col = |k: &str| letter(keys[k].as_u64().unwrap());
    let row0 = reviews[cases[0].as_str()]["row"].as_u64().unwrap();
    let (not_applying_case, not_applying_item) = reviews
        .iter()
        .find_map(|(c, a)| {
            a["ratings"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(_, l)| l.as_str() == Some("Not applicable"))
                .map(|(i, _)| (c.clone(), i.clone()))
        })
        .expect("a filled case with an item that does not apply");
    let row_na = reviews[not_applying_case.as_str()]["row"].as_u64().unwrap();
    let queue = std::fs::read_to_string(d.join("out/runs/2025-11-21/queue.csv")).unwrap();
    let office_of = |case: &str| {
        queue
            .lines()
            .find(|l| l.split(',').nth(1) == Some(case))
            .and_then(|l| l.split(',').nth(3))
            .unwrap()
            .to_string()
    };
    let elsewhere = queue
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .find(|c| office_of(c) != office_of(&cases[0]))
        .unwrap();
    let before = recorded(d, &cases);
    let refusals: [(String, &str); 6] = [
        (
            format!("Review!{}{row0}=Maybe", col("item:safety_risk_assessment")),
            "`Maybe` is not on the scale (Strength, Area needing improvement, Not applicable)",
        ),
        (
            format!("Review!{}{row0}=next tuesday", col("review_date")),
            "`next tuesday` is not a date",
        ),
        (
            "Actions!C3=".to_string(),
            "Actions, row 3, column `C owner`: missing",
        ),
        (
            format!("Review!A{row0}={elsewhere}"),
            "was not sent to office",
        ),
        (
            "Instructions!label:Queue=0123abcd".to_string(),
            "answers for a queue no run in the history",
        ),
        (
            format!(
                "Review!{}{row_na}=Strength",
                col(&format!("item:{not_applying_item}"))
            ),
            "rated `Strength`, but this item does not apply to this case",
        ),
    ];
    for (n, (edit, want)) in refusals.iter().enumerate() {
        let name = format!("bad-{n}.xlsx");
        fill(d, book, &name, 4, 2, std::slice::from_ref(edit));
        let o = import(d, &name);
        assert_eq!(o.status.code(), Some(1), "{edit}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(err.contains(want), "{edit}: want {want:?} in\n{err}");
        assert!(err.contains(&name), "{err}");
        assert_eq!(recorded(d, &cases), before, "{edit}: nothing recorded");
    }
}
