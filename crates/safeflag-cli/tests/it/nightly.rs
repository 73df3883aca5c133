//! The nightly job end to end: two nights with reviews between them
//! (suppression and each kind of material change), the lock, the gate, and
//! SIGKILL at several points followed by a rerun.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use polars::prelude::*;
use safeflag_history::Store;
use safeflag_pipeline::reports::{CaseHistoryJson, RunsJson};

use crate::*;

const NIGHT1: &str = "2025-11-21";
const NIGHT2: &str = "2025-11-22";

/// A config in `dir` reading `dir/snapshot.csv`, with the shipped model.
pub(crate) fn setup(dir: &Path) {
    let model = repo().join("models/default");
    let config = format!(
        "[input]\nsnapshot = \"snapshot.csv\"\n[model]\ndir = \"{}\"\n[queue]\ntop = 50\n\
         [export]\nby = [\"office\", \"supervisor\"]\nformats = [\"xlsx\", \"csv\"]\n\
         [suppression]\ndays = 90\nprobability-rise = 0.05\n",
        model.display()
    );
    std::fs::write(dir.join("safeflag.toml"), config).unwrap();
    std::fs::copy(sample("snapshot.csv"), dir.join("snapshot.csv")).unwrap();
}

pub(crate) fn nightly(dir: &Path, date: &str) -> std::process::Output {
    safeflag(dir, &["nightly", "--date", date])
}

fn strs(df: &DataFrame, col: &str) -> Vec<String> {
    df.column(col)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect()
}

/// case_id -> (status, since_review) of a night's queue.
fn queue_status(dir: &Path, date: &str) -> BTreeMap<String, (String, String)> {
    let q = read_csv(&dir.join("out/runs").join(date).join("queue.csv"));
    strs(&q, "case_id")
        .into_iter()
        .zip(strs(&q, "status").into_iter().zip(strs(&q, "since_review")))
        .collect()
}

/// Applies `f` to the rows of `case` in `dir/snapshot.csv`.
fn edit_case(dir: &Path, case: &str, f: impl Fn(LazyFrame, Expr) -> LazyFrame) {
    let df = read_csv(&dir.join("snapshot.csv"));
    let mut out = f(df.lazy(), col("case_id").eq(lit(case)))
        .collect()
        .unwrap();
    let mut file = std::fs::File::create(dir.join("snapshot.csv")).unwrap();
    CsvWriter::new(&mut file).finish(&mut out).unwrap();
}

fn set(column: &str, value: &str) -> impl Fn(LazyFrame, Expr) -> LazyFrame {
    let (column, value) = (column.to_string(), value.to_string());
    move |lf, is_case| {
        lf.with_column(
            when(is_case)
                .then(lit(value.clone()))
                .otherwise(col(column.as_str()))
                .alias(column.as_str()),
        )
    }
}

/// Night 1, then reviews of five queued cases; returns (suppress, report, infant, adult, rise, untouched).
fn night_one_and_reviews(dir: &Path) -> [String; 6] {
    setup(dir);
    let out = nightly(dir, NIGHT1);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let queued: Vec<String> = queue_status(dir, NIGHT1).into_keys().collect();
    assert_eq!(queued.len(), 50);
    assert!(queue_status(dir, NIGHT1).values().all(|(s, _)| s == "new"));

    // Choose cases whose rows allow each change to be the only one.
    let snap = read_csv(&dir.join("snapshot.csv"));
    let rows_of = |case: &str, column: &str| -> Vec<String> {
        let cases = strs(&snap, "case_id");
        let values = strs(&snap, column);
        cases
            .iter()
            .zip(values)
            .filter(|(c, _)| *c == case)
            .map(|(_, v)| v)
            .collect()
    };
    let q = read_csv(&dir.join("out/runs").join(NIGHT1).join("queue.csv"));
    let ranked = strs(&q, "case_id");
    let mut pick = Vec::new();
    let mut used = BTreeSet::new();
    let mut take = |ok: &dyn Fn(&str) -> bool, pick: &mut Vec<String>| {
        let c = ranked
            .iter()
            .find(|c| !used.contains(*c) && ok(c))
            .expect("a suitable queued case")
            .clone();
        used.insert(c.clone());
        pick.push(c);
    };
    take(&|_| true, &mut pick); // suppressed: nothing changes
    take(&|_| true, &mut pick); // a new report
    take(&|_| true, &mut pick); // a new infant
    take(
        &|c| {
            rows_of(c, "unrelated_adult_in_home")
                .iter()
                .all(|v| v != "true")
        },
        &mut pick,
    );
    take(
        &|c| {
            rows_of(c, "parental_mental_health")
                .iter()
                .all(|v| v != "current")
        },
        &mut pick,
    );
    take(&|_| true, &mut pick); // queued again, not reviewed

    let mut reviews = String::from("case_id,review_date,reviewer,outcome,override_reason\n");
    for c in &pick[..5] {
        reviews.push_str(&format!("{c},{NIGHT1},R-07,coached,\n"));
    }
    std::fs::write(dir.join("reviews.csv"), reviews).unwrap();
    let out = safeflag(dir, &["reviews", "import", "reviews.csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("imported 5 reviews"));
    pick.try_into().unwrap()
}

/// Tonight's changes to the snapshot for night 2.
fn night_two_changes(dir: &Path, cases: &[String; 6]) {
    let [_, report, infant, adult, rise, _] = cases;
    edit_case(dir, report, |lf, is_case| {
        lf.with_column(
            when(is_case)
                .then((col("prior_reports").cast(DataType::Int64) + lit(1)).cast(DataType::String))
                .otherwise(col("prior_reports"))
                .alias("prior_reports"),
        )
    });
    // A new baby in the infant case: a copy of its first row, born 20 days ago.
    let df = read_csv(&dir.join("snapshot.csv"));
    let baby = df
        .clone()
        .lazy()
        .filter(col("case_id").eq(lit(infant.as_str())))
        .limit(1)
        .with_columns([
            lit("K-NEWBORN").alias("child_id"),
            lit("2025-11-01").alias("child_birth_date"),
            lit("crib_bassinet").alias("sleep_environment"),
        ])
        .collect()
        .unwrap();
    let mut all = df.vstack(&baby).unwrap();
    let mut file = std::fs::File::create(dir.join("snapshot.csv")).unwrap();
    CsvWriter::new(&mut file).finish(&mut all).unwrap();
    edit_case(dir, adult, set("unrelated_adult_in_home", "true"));
    edit_case(dir, rise, set("parental_mental_health", "current"));
}

#[test]
fn two_nights_with_reviews_show_suppression_and_every_material_change() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let cases = night_one_and_reviews(dir);
    let [suppressed, report, infant, adult, rise, untouched] = &cases;

    // A bad reviews file is refused whole, naming its rows.
    std::fs::write(
        dir.join("bad.csv"),
        format!(
            "case_id,review_date,reviewer,outcome,override_reason\n{untouched},{NIGHT1},R-07,coached,\n{untouched},2025-11-31,R-07,coached,\n"
        ),
    )
    .unwrap();
    let out = safeflag(dir, &["reviews", "import", "bad.csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("row 2, column `review_date`: `2025-11-31` is not a date"),
        "{}",
        stderr(&out)
    );
    let store = Store::open(&dir.join("state/history.sqlite")).unwrap();
    assert!(
        store.case_history(untouched).unwrap().reviews.is_empty(),
        "nothing half-imported"
    );
    drop(store);

    night_two_changes(dir, &cases);
    let out = nightly(dir, NIGHT2);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let q = queue_status(dir, NIGHT2);
    assert_eq!(
        q.len(),
        50,
        "the suppressed case's place goes to the next case"
    );
    assert!(
        !q.contains_key(suppressed),
        "reviewed, nothing changed: suppressed"
    );
    let expect = [
        (report, "new report since review"),
        (infant, "new infant in the home"),
        (adult, "new unrelated adult in the home"),
        (rise, "probability up"),
    ];
    for (case, change) in expect {
        let (status, since) = q
            .get(case.as_str())
            .unwrap_or_else(|| panic!("{case} not queued"));
        assert_eq!(status, "continuing", "{case}: it was in last night's queue");
        assert!(since.contains(change), "{case}: `{since}` lacks `{change}`");
    }
    // Each change is the only one for its case, except that more risk can
    // also raise the probability.
    assert!(
        !q[infant.as_str()].1.contains("report"),
        "{:?}",
        q[infant.as_str()]
    );
    assert!(
        !q[adult.as_str()].1.contains("infant"),
        "{:?}",
        q[adult.as_str()]
    );
    assert_eq!(q[untouched.as_str()], ("continuing".into(), String::new()));
    assert!(
        q.values().any(|(s, _)| s == "new"),
        "the freed place went to a new case"
    );

    // The suppressed case is listed, never silently hidden.
    let run = dir.join("out/runs").join(NIGHT2);
    let s = read_csv(&run.join("suppressed.csv"));
    assert_eq!(strs(&s, "case_id"), vec![suppressed.clone()]);
    assert_eq!(strs(&s, "reviewed_on"), vec![NIGHT1.to_string()]);
    let report_json: safeflag_report::Summary =
        serde_json::from_slice(&std::fs::read(run.join("report.json")).unwrap()).unwrap();
    assert_eq!(report_json.suppressed[0].case_id, suppressed.as_str());
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains(suppressed.as_str()));

    // The queue over time, counted again from each night's own files: both
    // nights, each office, each status; the suppressed case under the
    // office it was flagged in.
    let mut want: BTreeMap<(String, String), [usize; 6]> = BTreeMap::new();
    for night in [NIGHT1, NIGHT2] {
        let q = read_csv(&dir.join("out/runs").join(night).join("queue.csv"));
        for (office, status) in strs(&q, "office").into_iter().zip(strs(&q, "status")) {
            let e = want.entry((night.to_string(), office)).or_default();
            e[0] += 1;
            let k = ["new", "continuing", "re-flagged", "re-review"]
                .iter()
                .position(|s| *s == status)
                .unwrap();
            e[k + 1] += 1;
        }
    }
    let first = read_csv(&dir.join("out/runs").join(NIGHT1).join("queue.csv"));
    let at = strs(&first, "case_id")
        .iter()
        .position(|c| c == suppressed)
        .unwrap();
    want.entry((NIGHT2.to_string(), strs(&first, "office")[at].clone()))
        .or_default()[5] += 1;
    let got: BTreeMap<(String, String), [usize; 6]> = report_json
        .queue_over_time
        .iter()
        .map(|n| {
            (
                (n.night.clone(), n.office.clone()),
                [
                    n.queued,
                    n.new,
                    n.continuing,
                    n.re_flagged,
                    n.re_review,
                    n.suppressed,
                ],
            )
        })
        .collect();
    assert_eq!(got, want);
    assert!(html.contains(&format!("id=\"{}\"", safeflag_report::html::QUEUE_CHART)));

    // Exports carry the history columns; runs and history show both nights.
    let office_csv = std::fs::read_dir(run.join("exports/office-csv"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .unwrap();
    assert!(
        std::fs::read_to_string(office_csv)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .ends_with("status,since_review")
    );
    let out = safeflag(dir, &["runs", "--json"]);
    let runs: RunsJson = serde_json::from_str(&stdout(&out)).unwrap();
    let dates: Vec<&str> = runs.runs.iter().map(|r| r.run_date.as_str()).collect();
    assert_eq!(dates, vec![NIGHT2, NIGHT1]);
    assert_eq!(runs.runs[0].cases_suppressed, 1);
    let out = safeflag(dir, &["history", suppressed, "--json"]);
    let h: CaseHistoryJson = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(h.flags.len(), 1);
    assert_eq!(h.suppressed[0].run_date, NIGHT2);
    assert_eq!(h.reviews[0].outcome, "coached");
    let out = safeflag(dir, &["history", report]);
    assert!(
        stdout(&out).contains("new report since review"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_second_run_is_refused_while_the_lock_is_held_and_a_stale_lock_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    setup(dir);
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let lock_path = dir.join("state/history.sqlite.lock");
    let held = safeflag_history::RunLock::acquire(&lock_path).unwrap();
    let out = nightly(dir, NIGHT1);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("another safeflag nightly run holds the lock"),
        "{err}"
    );
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "names the holder: {err}"
    );
    assert!(!dir.join("out/runs").exists(), "nothing published");
    drop(held);

    // A holder that died (its record left behind, its flock gone with it).
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    std::fs::write(
        &lock_path,
        format!("pid 4999999 on {} since unix time 1\n", host.trim()),
    )
    .unwrap();
    let out = nightly(dir, NIGHT1);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    if !host.trim().is_empty() {
        assert!(stderr(&out).contains("stale lock"), "{}", stderr(&out));
    }
}

#[test]
fn a_broken_extract_publishes_nothing_and_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    setup(dir);
    std::fs::copy(sample("messy.csv"), dir.join("snapshot.csv")).unwrap();
    let out = nightly(dir, NIGHT1);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!dir.join("out/runs").exists());
    let failed: Vec<_> = std::fs::read_dir(dir.join("out/failed")).unwrap().collect();
    assert_eq!(failed.len(), 1);
    let failed = failed[0].as_ref().unwrap().path();
    assert!(failed.join("quarantine.csv").exists());
    assert!(!failed.join("queue.csv").exists());
    let out = safeflag(dir, &["runs", "--json"]);
    let runs: RunsJson = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(runs.runs[0].status, "gate_failed");
}

/// What must be the same after a crash and a rerun as after one clean run.
fn fingerprint(dir: &Path) -> (BTreeMap<String, Vec<u8>>, Vec<String>) {
    let mut files = BTreeMap::new();
    let run = dir.join("out/runs").join(NIGHT2);
    let mut stack = vec![run.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.strip_prefix(&run).unwrap().display().to_string();
            // These name the run id or the run's timings.
            if ["manifest.json", "report.html", "report.json"].contains(&name.as_str()) {
                continue;
            }
            files.insert(name, std::fs::read(&p).unwrap());
        }
    }
    let store = Store::open(&dir.join("state/history.sqlite")).unwrap();
    let mut history: Vec<String> = store
        .runs()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {}",
                r.run_date, r.status, r.rows_scored, r.cases_queued, r.cases_suppressed
            )
        })
        .collect();
    let cases: BTreeSet<String> = files
        .keys()
        .filter(|k| *k == "queue.csv" || *k == "suppressed.csv")
        .flat_map(|k| strs(&read_csv(&run.join(k)), "case_id"))
        .collect();
    for c in cases {
        let h = store.case_history(&c).unwrap();
        let (suppressed, reviews) = (h.suppressed, h.reviews);
        for f in h.flags {
            history.push(format!(
                "{} {} {} {} {} {}",
                c, f.run_date, f.rank, f.probability, f.status, f.changes
            ));
        }
        history.push(format!(
            "{c} {} suppressions {} reviews",
            suppressed.len(),
            reviews.len()
        ));
    }
    (files, history)
}

#[test]
fn a_run_killed_at_any_point_then_rerun_ends_as_one_clean_run() {
    let base = tempfile::tempdir().unwrap();
    let cases = night_one_and_reviews(base.path());
    night_two_changes(base.path(), &cases);
    // The config names the model by absolute path and everything else relative, so a copy runs alike.
    let clean = tempfile::tempdir().unwrap();
    copy_dir(base.path(), clean.path());
    let out = nightly(clean.path(), NIGHT2);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let want = fingerprint(clean.path());
    assert!(
        want.0.contains_key("queue.csv")
            && want
                .0
                .contains_key("exports/office-xlsx/export-manifest.json")
    );

    for point in [
        "after-score",
        "after-exports",
        "before-publish",
        "after-publish",
        "history-before-commit",
        "after-history",
    ] {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(base.path(), dir.path());
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_safeflag"))
            .args(["nightly", "--date", NIGHT2, "-q"])
            .current_dir(dir.path())
            .env("SAFEFLAG_FAULT", point)
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(9),
            "{point}: the process was killed"
        );
        let out = nightly(dir.path(), NIGHT2);
        assert_eq!(out.status.code(), Some(0), "{point}: {}", stderr(&out));
        let got = fingerprint(dir.path());
        assert_eq!(
            got.0.keys().collect::<Vec<_>>(),
            want.0.keys().collect::<Vec<_>>(),
            "{point}"
        );
        for (name, bytes) in &want.0 {
            assert!(
                got.0[name] == *bytes,
                "{point}: {name} differs from a clean run"
            );
        }
        assert_eq!(got.1, want.1, "{point}: history differs from a clean run");
        assert!(
            std::fs::read_dir(dir.path().join("out/.staging"))
                .unwrap()
                .next()
                .is_none(),
            "{point}: staging left behind"
        );
    }
}

/// The files of a published run (those that name no run id or timing).
fn run_files(run: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![run.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p.strip_prefix(run).unwrap().display().to_string();
                if !["manifest.json", "report.html", "report.json"].contains(&name.as_str()) {
                    files.insert(name, std::fs::read(&p).unwrap());
                }
            }
        }
    }
    files
}

/// Night one with its reviews and night two's changes in `dir` (a night
/// two not yet run); night two is then failed by `fail`, which returns the
/// failed run's output. Checks: exit 2 and `expect` in its last line,
/// nothing new published, the date's earlier run untouched, no staging, the
/// history unchanged; then, after `recover`, a rerun ends byte for byte as
/// a night two that never failed (files and history).
fn fails_then_recovers(
    dir: &Path,
    what: &str,
    expect: &str,
    fail: impl Fn(&Path) -> std::process::Output,
    recover: impl FnOnce(),
) {
    let cases = night_one_and_reviews(dir);
    night_two_changes(dir, &cases);
    let clean = tempfile::tempdir().unwrap();
    copy_dir(dir, clean.path());
    let out = nightly(clean.path(), NIGHT2);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let want = fingerprint(clean.path());

    let night1 = dir.join("out/runs").join(NIGHT1);
    let before = run_files(&night1);
    let runs = || {
        Store::open(&dir.join("state/history.sqlite"))
            .unwrap()
            .runs()
            .unwrap()
    };
    let runs_before = runs();
    let out = fail(dir);
    assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(&out));
    let last = stderr(&out).lines().last().unwrap_or_default().to_string();
    assert!(
        last.starts_with("internal error:") && last.contains(expect),
        "{what}: {last}"
    );
    assert!(
        !dir.join("out/runs").join(NIGHT2).exists(),
        "{what}: nothing new published"
    );
    assert_eq!(
        run_files(&night1),
        before,
        "{what}: the earlier run is untouched"
    );
    let staged = std::fs::read_dir(dir.join("out/.staging")).map_or(0, |d| d.count());
    assert_eq!(staged, 0, "{what}: no staging left");
    recover();
    assert_eq!(runs(), runs_before, "{what}: the history is unchanged");

    let out = nightly(dir, NIGHT2);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = fingerprint(dir);
    assert_eq!(got.0, want.0, "{what}: the rerun's files are a clean run's");
    assert_eq!(
        got.1, want.1,
        "{what}: the rerun's history is a clean run's"
    );
}

/// The history store cannot commit (SQLite's "database or disk is full",
/// injected at the commit): a rerun of a published date keeps that date's
/// run as it was, and a new night publishes nothing.
#[test]
fn a_history_that_cannot_commit_leaves_the_earlier_run_published() {
    if !cfg!(debug_assertions) {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let full = |dir: &Path, date: &str| {
        safeflag_env(
            dir,
            &["nightly", "--date", date],
            &[("SAFEFLAG_FAULT", "store-full")],
        )
    };
    fails_then_recovers(
        base.path(),
        "store full",
        "nothing published",
        |dir| {
            // A rerun of the published night one fails too, and leaves it.
            let out = full(dir, NIGHT1);
            assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
            full(dir, NIGHT2)
        },
        || {},
    );
}

/// A small tmpfs mounted over a folder (needs root; CI runs as root), so a
/// test can fill a real disk; unmounted on drop.
struct TinyDisk(std::path::PathBuf);

impl TinyDisk {
    fn mount(dir: &Path, size: &str) -> Option<TinyDisk> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?
            .success();
        ok.then(|| TinyDisk(dir.to_path_buf()))
    }

    /// Fills the disk, leaving about `spare` bytes.
    fn fill(&self, spare: usize) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        drop(f);
        let len = std::fs::metadata(self.0.join("filler")).unwrap().len();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.0.join("filler"))
            .unwrap();
        f.set_len(len.saturating_sub(spare as u64)).unwrap();
    }

    fn free(&self) {
        std::fs::remove_file(self.0.join("filler")).unwrap();
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// A real full disk under `folder` ("state" for the history store, "out"
/// for the outputs), with `spare` bytes left, fails night two.
fn full_disk_under(folder: &str, size: &str, spare: usize, expect: &str) {
    let base = tempfile::tempdir().unwrap();
    let Some(disk) = TinyDisk::mount(&base.path().join(folder), size) else {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        }
        return;
    };
    fails_then_recovers(
        base.path(),
        folder,
        expect,
        |dir| {
            disk.fill(spare);
            nightly(dir, NIGHT2)
        },
        || disk.free(),
    );
}

#[test]
fn a_full_disk_under_the_store_publishes_nothing_the_history_lacks() {
    full_disk_under("state", "2m", 16 << 10, "database or disk is full");
}

#[test]
fn a_full_disk_under_the_outputs_publishes_nothing() {
    full_disk_under("out", "8m", 64 << 10, "No space left on device");
}

#[test]
fn a_case_back_after_a_night_away_is_re_flagged_not_new() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    setup(dir);
    let out = nightly(dir, NIGHT1);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first: Vec<String> = queue_status(dir, NIGHT1).into_keys().collect();
    let away = first[0].clone();
    // Night 2: the case is not in the extract (closed, or missed by the extract).
    let df = read_csv(&dir.join("snapshot.csv"));
    let mut without = df
        .clone()
        .lazy()
        .filter(col("case_id").neq(lit(away.as_str())))
        .collect()
        .unwrap();
    let mut f = std::fs::File::create(dir.join("snapshot.csv")).unwrap();
    CsvWriter::new(&mut f).finish(&mut without).unwrap();
    let out = nightly(dir, NIGHT2);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let second = queue_status(dir, NIGHT2);
    assert!(!second.contains_key(&away));
    assert!(second.values().any(|(s, _)| s == "continuing"));
    // Night 3: it is back.
    std::fs::copy(sample("snapshot.csv"), dir.join("snapshot.csv")).unwrap();
    let out = nightly(dir, "2025-11-23");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let third = queue_status(dir, "2025-11-23");
    assert_eq!(third[&away], ("re-flagged".to_string(), String::new()));
    let out = safeflag(dir, &["history", &away, "--json"]);
    let h: CaseHistoryJson = serde_json::from_str(&stdout(&out)).unwrap();
    let statuses: Vec<&str> = h.flags.iter().map(|f| f.status.as_str()).collect();
    assert_eq!(statuses, vec!["new", "re-flagged"]);
}

#[test]
fn json_logs_carry_no_row_level_case_data() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    setup(dir);
    let out = safeflag(dir, &["nightly", "--date", NIGHT1, "-vv", "--log-json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log = stderr(&out);
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() > 3, "{log}");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string(), "{line}");
    }
    // No id of any child or case in the snapshot appears in the log.
    let snap = read_csv(&dir.join("snapshot.csv"));
    let ids: BTreeSet<String> = strs(&snap, "case_id")
        .into_iter()
        .chain(strs(&snap, "child_id"))
        .chain(strs(&snap, "worker_id"))
        .collect();
    for id in &ids {
        assert!(!log.contains(id.as_str()), "`{id}` is in the log");
    }
}

/// A reviewed case comes back to the queue, as a re-review, 91 days after
/// its review whatever its score; the schedule ends for a case with a child
/// removed, a closed case, and one whose youngest child turns three first.
#[test]
fn reviewed_cases_come_back_for_their_quarterly_re_review_until_the_schedule_ends() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let out = nightly(d, NIGHT1);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let queued: Vec<String> = queue_status(d, NIGHT1).into_keys().collect();
    let [due, removed, closed, aged] = [0, 1, 2, 3].map(|i| queued[i].clone());
    let mut reviews = String::from("case_id,review_date,reviewer,outcome,override_reason\n");
    for c in [&due, &removed, &closed, &aged] {
        reviews.push_str(&format!("{c},{NIGHT1},R1,coached,\n"));
    }
    std::fs::write(d.join("reviews.csv"), reviews).unwrap();
    let out = safeflag(d, &["reviews", "import", "reviews.csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A child removed; a case closed (gone from the snapshot); a youngest
    // child three years old before the due date (2026-02-20).
    edit_case(d, &removed, set("case_type", "out_of_home"));
    edit_case(d, &closed, |lf, is_case| lf.filter(is_case.not()));
    edit_case(d, &aged, set("child_birth_date", "2023-01-01"));
    // Nothing is flagged by its score any more: only re-reviews are queued.
    let config = std::fs::read_to_string(d.join("safeflag.toml")).unwrap();
    std::fs::write(
        d.join("safeflag.toml"),
        config.replace("top = 50\n", "top = 50\nthreshold = 0.999\n"),
    )
    .unwrap();

    let out = nightly(d, "2026-02-19");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(queue_status(d, "2026-02-19").is_empty(), "not due yet");
    let out = nightly(d, "2026-02-20");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let q = queue_status(d, "2026-02-20");
    assert_eq!(q.keys().collect::<Vec<_>>(), vec![&due]);
    assert_eq!(
        q[&due],
        (
            "re-review".to_string(),
            "quarterly re-review due since 2026-02-20".to_string()
        )
    );
    // The night's report shows the review practice of the 91 nights
    // before: night 1's 50 flags, four of them reviewed the same day.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("out/runs/2026-02-20/report.json")).unwrap())
            .unwrap();
    let p = &report["practice"];
    assert_eq!(p["from"], "2025-11-21", "{p}");
    assert_eq!(p["to"], "2026-02-19");
    assert_eq!(p["flags"]["flagged"], 50, "{p}");
    assert_eq!(p["flags"]["reviewed"], 4, "{p}");
    assert_eq!(p["flags"]["reviewed_on_time"], 4, "{p}");
    let html = std::fs::read_to_string(d.join("out/runs/2026-02-20/report.html")).unwrap();
    assert!(html.contains("<h2>Review practice</h2>"));
    assert!(
        html.contains("<th>group (lead child)</th>"),
        "overrides by group"
    );
    // The history keeps it as a re-review, not a new flag.
    let store = Store::open(&d.join("state/history.sqlite")).unwrap();
    let h = store.case_history(&due).unwrap();
    assert!(
        h.flags
            .iter()
            .any(|f| f.run_date == "2026-02-20" && f.status == "re-review")
    );
}
