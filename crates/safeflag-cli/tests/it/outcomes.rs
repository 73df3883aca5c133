//! Outcomes in and the look back at past nights, through the binary: nights
//! from the shipped extract, its incidents imported, the report read from
//! the history and the run folders as they are.

use safeflag_outcomes::LookBack;

use crate::*;

fn nights(dir: &std::path::Path, dates: &[&str]) {
    let config = format!(
        "[input]\nextract = \"{}\"\n[model]\ndir = \"{}\"\n[queue]\ntop = 20\n",
        sample("extract").display(),
        repo().join("models/default").display()
    );
    std::fs::write(dir.join("safeflag.toml"), config).unwrap();
    for d in dates {
        let out = safeflag(dir, &["nightly", "--date", d]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
}

#[test]
fn past_nights_are_judged_by_the_outcomes_known_and_open_windows_get_no_rate() {
    let dir = tempfile::tempdir().unwrap();
    nights(dir.path(), &["2024-03-05", "2025-07-15"]);
    let x = sample("extract").display().to_string();
    // Before any import the report says what to do.
    let out = safeflag(dir.path(), &["outcomes", "report"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("outcomes import"), "{}", stderr(&out));

    let out = safeflag(dir.path(), &["outcomes", "import", &x]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("known through 2025-12-31"));
    // Importing it again changes nothing.
    let out = safeflag(dir.path(), &["outcomes", "import", &x, "--json"]);
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["new"], 0);
    assert!(again["unchanged"].as_u64().unwrap() > 0);

    let out = safeflag(
        dir.path(),
        &[
            "outcomes",
            "report",
            "--window",
            "180",
            "--lag",
            "30",
            "--json",
            "--csv",
            "monthly.csv",
            "--html",
            "look-back.html",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lb: LookBack = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(lb.nights.len(), 2);
    // 2024-03-05 + 180 + 30 days is before the extract date: closed, with rates.
    let first = &lb.nights[0];
    assert!(first.window.closed && first.scores);
    assert_eq!(first.queued, 20);
    let p = first.precision.unwrap();
    assert_eq!((p.hits, p.n), (first.queued_with_outcome, 20));
    // 2025-07-15 + 210 days is after it: open, known for the 139 days up to
    // the extract date less the lag, and no rate.
    let last = &lb.nights[1];
    assert!(!last.window.closed);
    assert_eq!(last.window.known_days, 139);
    assert!(last.precision.is_none() && last.recall.is_none() && last.calibration.is_none());
    let csv = std::fs::read_to_string(dir.path().join("monthly.csv")).unwrap();
    assert!(
        csv.starts_with("month,closed,nights,cases_flagged"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3);
    assert_eq!(mode(&dir.path().join("monthly.csv")), 0o600);
    // The page: both charts, the closed month drawn, the open one not.
    let page = std::fs::read_to_string(dir.path().join("look-back.html")).unwrap();
    for id in safeflag_report::look_back::CHARTS {
        assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert_eq!(page.matches(r#"class="point""#).count(), 2);
    assert_eq!(mode(&dir.path().join("look-back.html")), 0o600);
    // The table a person reads names both windows.
    let out = safeflag(
        dir.path(),
        &["outcomes", "report", "--window", "180", "--lag", "30"],
    );
    let text = stdout(&out);
    assert!(
        text.contains("closed") && text.contains("open 139/180d"),
        "{text}"
    );
}

#[test]
fn a_bad_outcomes_file_is_refused_whole_with_its_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    nights(dir.path(), &["2024-03-05"]);
    std::fs::write(
        dir.path().join("o.csv"),
        "child_id,occurred_on,recorded_on,kind,severity\n\
         K1,2024-04-01,2024-04-03,incident,fatality\n\
         K2,2024-05-01,2024-04-20,incident,serious_injury\n",
    )
    .unwrap();
    let out = safeflag(dir.path(), &["outcomes", "import", "o.csv"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("o.csv") && err.contains("row 2") && err.contains("recorded_on"),
        "{err}"
    );
    assert!(!err.contains("K2"), "never the row's contents: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // Nothing was recorded.
    let out = safeflag(dir.path(), &["outcomes", "report"]);
    assert_eq!(out.status.code(), Some(1));
}
