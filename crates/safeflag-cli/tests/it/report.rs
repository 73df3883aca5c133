//! `safeflag export` and `safeflag report` on real runs: exports read back
//! with independent readers (calamine for xlsx, arrow-rs for Parquet and
//! Arrow IPC), recipients isolated, files owner-only, the HTML report
//! self-contained with every chart, and drift naming exactly the shifted feature.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow_array::{Array, Float64Array, RecordBatch, StringArray, StringViewArray};
use calamine::{Data, Reader, Xlsx, open_workbook};
use polars::prelude::*;

use crate::*;

fn score_sample(dir: &Path, out: &str, snapshot: &Path, extra: &[&str]) {
    let args: Vec<&str> = ["--out", out].iter().chain(extra).copied().collect();
    let o = score_with(dir, snapshot, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// The queue as polars reads it from the CSV: (case_id, office, supervisor_id, probability, rank).
fn queue_rows(run: &Path) -> Vec<(String, String, String, f64, u32)> {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(run.join("queue.csv")))
        .unwrap()
        .finish()
        .unwrap();
    let s = |n: &str| df.column(n).unwrap().str().unwrap().clone();
    let (c, o, sup) = (s("case_id"), s("office"), s("supervisor_id"));
    let p = df.column("probability").unwrap().f64().unwrap().clone();
    let r = df
        .column("rank")
        .unwrap()
        .cast(&DataType::UInt32)
        .unwrap()
        .u32()
        .unwrap()
        .clone();
    (0..df.height())
        .map(|i| {
            (
                c.get(i).unwrap().to_string(),
                o.get(i).unwrap().to_string(),
                sup.get(i).unwrap().to_string(),
                p.get(i).unwrap(),
                r.get(i).unwrap(),
            )
        })
        .collect()
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<String> {
    let col = batch.column_by_name(name).unwrap();
    if let Some(a) = col.as_any().downcast_ref::<StringArray>() {
        return (0..a.len()).map(|i| a.value(i).to_string()).collect();
    }
    let a = col.as_any().downcast_ref::<StringViewArray>().unwrap();
    (0..a.len()).map(|i| a.value(i).to_string()).collect()
}

fn floats(batch: &RecordBatch, name: &str) -> Vec<f64> {
    let a = batch
        .column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    (0..a.len()).map(|i| a.value(i)).collect()
}

fn parquet_batches(path: &Path) -> Vec<RecordBatch> {
    let f = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

#[test]
fn parquet_and_arrow_outputs_read_back_with_arrow_rs() {
    let dir = tempfile::tempdir().unwrap();
    score_sample(
        dir.path(),
        "run",
        &sample("snapshot.csv"),
        &["--scores-arrow"],
    );
    let run = dir.path().join("run");
    let queue = queue_rows(&run);

    let batches = parquet_batches(&run.join("queue.parquet"));
    let (mut cases, mut probs) = (Vec::new(), Vec::new());
    for b in &batches {
        cases.extend(strings(b, "case_id"));
        probs.extend(floats(b, "probability"));
    }
    let want: Vec<String> = queue.iter().map(|q| q.0.clone()).collect();
    assert_eq!(
        cases, want,
        "queue.parquet and queue.csv list the same cases"
    );
    for (p, q) in probs.iter().zip(&queue) {
        // CSV prints shortest round-trip decimals, so the two agree exactly.
        assert_eq!(*p, q.3);
    }

    // scores.parquet and scores.arrow: every valid row, same values.
    let mut from_parquet = Vec::new();
    for b in parquet_batches(&run.join("scores.parquet")) {
        from_parquet.extend(
            strings(&b, "child_id")
                .into_iter()
                .zip(floats(&b, "probability")),
        );
    }
    let f = std::fs::File::open(run.join("scores.arrow")).unwrap();
    let mut from_ipc = Vec::new();
    for b in arrow_ipc::reader::FileReader::try_new(f, None).unwrap() {
        let b = b.unwrap();
        from_ipc.extend(
            strings(&b, "child_id")
                .into_iter()
                .zip(floats(&b, "probability")),
        );
    }
    assert_eq!(from_parquet.len(), 10_000);
    assert_eq!(from_parquet, from_ipc);
    // The lead child of each queued case has the queue's probability.
    let by_child: BTreeMap<&str, f64> =
        from_parquet.iter().map(|(c, p)| (c.as_str(), *p)).collect();
    let q = CsvReadOptions::default()
        .try_into_reader_with_file_path(Some(run.join("queue.csv")))
        .unwrap()
        .finish()
        .unwrap();
    let leads = q.column("child_id").unwrap().str().unwrap();
    for (i, lead) in leads.iter().enumerate() {
        assert_eq!(by_child[lead.unwrap()], queue[i].3);
    }
}

#[test]
fn xlsx_exports_hold_each_office_its_own_cases_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    score_sample(dir.path(), "run", &sample("snapshot.csv"), &["--top", "60"]);
    let run = dir.path().join("run");
    let queue = queue_rows(&run);
    for (by, col) in [("office", 1usize), ("supervisor", 2usize)] {
        let out = format!("x-{by}");
        let o = safeflag(
            dir.path(),
            &["export", "run", "--by", by, "--out", &out, "--json"],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let manifest: safeflag_report::ExportManifest = serde_json::from_str(&stdout(&o)).unwrap();
        let files = &manifest.files;
        let recipients: BTreeSet<&str> = queue
            .iter()
            .map(|q| if col == 1 { q.1.as_str() } else { q.2.as_str() })
            .collect();
        assert_eq!(files.len(), recipients.len(), "one file per recipient");
        let mut total = 0;
        for f in files {
            let recipient = f.recipient.as_str();
            let path = dir.path().join(&out).join(&f.file);
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            assert_eq!(f.sha256, safeflag_core::output::sha256_file(&path).unwrap());
            let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
            assert_eq!(
                wb.sheet_names(),
                vec!["Queue", "How to read", "Review", "Actions", "Instructions"]
            );
            let range = wb.worksheet_range("Queue").unwrap();
            let mut rows = range.rows();
            // A title naming the recipient, the night and "confidential",
            // then the header.
            let title = rows.next().unwrap()[0].to_string();
            assert!(title.starts_with("CONFIDENTIAL"), "{title}");
            assert!(
                title.contains(recipient) && title.contains("2025-11-21"),
                "{title}"
            );
            assert!(f.file.ends_with("-2025-11-21.xlsx"), "{}", f.file);
            let header: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
            let pos = |h: &str| header.iter().position(|x| x == h);
            let (case, prob, rank) = (
                pos("Case").unwrap(),
                pos("Probability").unwrap(),
                pos("Rank tonight").unwrap(),
            );
            // The recipient's own column holds one value, so it is left out
            // (the title names it); the other is kept unless it is constant too.
            let own = if col == 1 { "Office" } else { "Supervisor" };
            assert_eq!(pos(own), None, "{header:?}");
            let (office, sup) = (pos("Office"), pos("Supervisor"));
            let got: Vec<(String, String, String, f64, u32)> = rows
                .map(|r| {
                    let num = |d: &Data| match d {
                        Data::Float(f) => *f,
                        Data::Int(i) => *i as f64,
                        other => panic!("not a number: {other:?}"),
                    };
                    let case = r[case].to_string();
                    // A column left out is the one value the queue has for
                    // this file's cases: look it up there.
                    let from_queue = |k: usize| {
                        queue
                            .iter()
                            .find(|q| q.0 == case)
                            .map(|q| if k == 1 { q.1.clone() } else { q.2.clone() })
                            .unwrap()
                    };
                    (
                        case.clone(),
                        office.map_or_else(|| from_queue(1), |j| r[j].to_string()),
                        sup.map_or_else(|| from_queue(2), |j| r[j].to_string()),
                        num(&r[prob]),
                        num(&r[rank]) as u32,
                    )
                })
                .collect();
            // Exactly this recipient's queue rows, in queue order, same values.
            let want: Vec<_> = queue
                .iter()
                .filter(|q| (if col == 1 { &q.1 } else { &q.2 }) == recipient)
                .cloned()
                .collect();
            assert_eq!(got, want, "{by} {recipient}");
            assert_eq!(f.rows, got.len());
            total += got.len();
            let help = wb.worksheet_range("How to read").unwrap();
            let text: String = help
                .rows()
                .map(|r| r[0].to_string())
                .collect::<Vec<_>>()
                .join(" ");
            assert!(text.contains("not evidence"), "{text}");
        }
        assert_eq!(total, queue.len(), "every queued case is exported once");
        assert_eq!(
            mode(&dir.path().join(&out).join("export-manifest.json")),
            0o600
        );
    }

    // CSV exports: same split; a rerun is byte-identical.
    for out in ["c1", "c2"] {
        let o = safeflag(
            dir.path(),
            &["export", "run", "--format", "csv", "--out", out],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    for entry in std::fs::read_dir(dir.path().join("c1")).unwrap() {
        let name = entry.unwrap().file_name();
        let a = std::fs::read(dir.path().join("c1").join(&name)).unwrap();
        let b = std::fs::read(dir.path().join("c2").join(&name)).unwrap();
        assert!(a == b, "{name:?} differs between exports");
        if name.to_string_lossy().starts_with("office-") {
            let text = String::from_utf8(a).unwrap();
            let office = text
                .lines()
                .nth(1)
                .unwrap()
                .split(',')
                .nth(6)
                .unwrap()
                .to_string();
            for line in text.lines().skip(1) {
                assert_eq!(line.split(',').nth(6).unwrap(), office, "{name:?}");
            }
        }
    }
}

#[test]
fn an_export_never_publishes_a_failed_run() {
    let dir = tempfile::tempdir().unwrap();
    let o = score_with(dir.path(), &sample("messy.csv"), &["--out", "bad"]);
    assert_eq!(o.status.code(), Some(3));
    let o = safeflag(dir.path(), &["export", "bad", "--out", "x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("did not publish a queue (status `gate_failed`"),
        "{}",
        stderr(&o)
    );
    assert!(
        !dir.path().join("x").exists()
            || std::fs::read_dir(dir.path().join("x"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[test]
fn report_tables_json_and_a_self_contained_html_with_every_chart() {
    let dir = tempfile::tempdir().unwrap();
    // A labelled snapshot, so the calibration curve can be drawn.
    score_sample(
        dir.path(),
        "run",
        &sample("training.parquet"),
        &["--office-capacity", "10"],
    );
    let o = safeflag(dir.path(), &["report", "run", "--html", "r.html"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    for part in [
        "[reconciles]",
        "queue by office",
        "most frequent reasons",
        "quarantine by column and rule",
        "flag rate by race/ethnicity",
        "drift against training",
    ] {
        assert!(text.contains(part), "{part} missing from:\n{text}");
    }
    let o = safeflag(dir.path(), &["report", "run", "--json"]);
    let j: safeflag_report::Summary = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j.kind, "run_report");
    assert!(j.counts.reconciles);
    let queued: usize = j.offices.iter().map(|o| o.queued).sum();
    assert_eq!(queued as u64, j.counts.cases_queued);
    assert!(
        j.offices
            .iter()
            .all(|o| o.capacity.is_none_or(|c| o.queued <= c))
    );
    assert_eq!(j.calibration.as_ref().map(Vec::len), Some(10));
    let hist: usize = j.scores.counts.iter().sum();
    assert_eq!(hist as u64, j.counts.rows_scored);

    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert_eq!(mode(&dir.path().join("r.html")), 0o600);
    for id in safeflag_report::html::CHARTS {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    assert!(html.contains("0.8-1.25 band"));
    assert!(html.contains("queue cut-off"));
    // Self-contained: nothing to fetch, nothing to run.
    for needle in ["http:", "https:", "<script", "src=", "<link", "url("] {
        assert!(!html.contains(needle), "the report contains `{needle}`");
    }
}

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    score_sample(dir.path(), "run", &sample("snapshot.csv"), &[]);
    let o = safeflag(dir.path(), &["report", "run", "--html", "r.html", "-q"]);
    assert_eq!(o.status.code(), Some(0));
    let shot = dir.path().join("r.png");
    let status = chromium.run(
        dir.path(),
        &[
            "--hide-scrollbars",
            "--window-size=1000,3000",
            &format!("--screenshot={}", shot.display()),
        ],
        &dir.path().join("r.html"),
    );
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // Width and height from the IHDR chunk: the page was laid out at the window size.
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((w, h), (1000, 3000));
    assert!(
        png.len() > 50_000,
        "a blank page compresses to almost nothing"
    );
}

/// The report's chart labels, laid out by a real browser, never overlap: a
/// copy of the page with a script that measures every SVG text's bounding
/// box and writes the overlapping pairs into the page, which Chromium then
/// dumps. (The report itself has no scripts.)
#[test]
fn no_two_chart_labels_overlap_in_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    score_sample(d, "run", &sample("snapshot.csv"), &[]);
    let o = safeflag(d, &["report", "run", "--html", "r.html", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = std::fs::read_to_string(d.join("r.html")).unwrap();
    let probe = r#"<script>
const found = [];
let labels = 0;
const svgs = [...document.querySelectorAll('svg')];
for (const svg of svgs) {
  const boxes = [...svg.querySelectorAll('text')]
    .filter(t => t.textContent.trim() !== '')
    .map(t => [t.textContent, t.getBoundingClientRect()]);
  labels += boxes.length;
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, r] = boxes[i], [b, q] = boxes[j];
      const w = Math.min(r.right, q.right) - Math.max(r.left, q.left);
      const h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
      if (w > 0.5 && h > 0.5) found.push(svg.id + ': "' + a + '" / "' + b + '"');
    }
  }
}
const pre = document.createElement('pre');
pre.id = 'probe';
pre.textContent = JSON.stringify({charts: svgs.length, labels, overlaps: found});
document.body.appendChild(pre);
</script></body>"#;
    std::fs::write(d.join("probe.html"), page.replace("</body>", probe)).unwrap();
    let out = chromium.run(
        d,
        &["--window-size=1000,3000", "--dump-dom"],
        &d.join("probe.html"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let json = dom
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .unwrap_or_else(|| panic!("the probe did not run: {dom}"))
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["charts"].as_u64().unwrap() >= 5, "{v}");
    assert!(v["labels"].as_u64().unwrap() >= 40, "{v}");
    assert_eq!(v["overlaps"], serde_json::json!([]), "{v}");
}

#[test]
fn drift_names_the_shifted_feature_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    // Tonight's extract, with every recorded visit gap three times as long.
    let mut df = CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(sample("snapshot.csv")))
        .unwrap()
        .finish()
        .unwrap();
    let shifted = df
        .clone()
        .lazy()
        .with_column(
            (col("days_since_last_visit").cast(DataType::Int64) * lit(3))
                .cast(DataType::String)
                .alias("days_since_last_visit"),
        )
        .collect()
        .unwrap();
    df = shifted;
    let path = dir.path().join("shifted.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    CsvWriter::new(&mut f).finish(&mut df).unwrap();

    score_sample(dir.path(), "plain", &sample("snapshot.csv"), &[]);
    score_sample(dir.path(), "shifted", &path, &[]);
    let drift_warnings = |run: &str| -> Vec<String> {
        let m = safeflag_report::RunManifest::read(&dir.path().join(run)).unwrap();
        m.monitoring
            .unwrap()
            .warnings
            .iter()
            .filter(|w| w.kind == "drift" || w.kind == "missing")
            .map(|w| w.subject.clone())
            .collect()
    };
    assert_eq!(drift_warnings("plain"), Vec::<String>::new());
    assert_eq!(drift_warnings("shifted"), vec!["visit_gap".to_string()]);
    let o = safeflag(dir.path(), &["report", "shifted"]);
    assert!(
        stdout(&o).contains("long gap since the last home visit (visit_gap)  <- drifted"),
        "{}",
        stdout(&o)
    );
}

/// Debian's headless Chromium, kept off the network; `None` (the test says
/// it skipped) where it is not installed.
struct Chromium(&'static Path);

fn chromium() -> Option<Chromium> {
    let bin = Path::new("/usr/bin/chromium");
    if bin.exists() {
        return Some(Chromium(bin));
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!("skipped: /usr/bin/chromium is not installed (.ci/run installs it)");
    }
    None
}

impl Chromium {
    /// Opens `page` with `args`, a profile under `dir`.
    fn run(&self, dir: &Path, args: &[&str], page: &Path) -> std::process::Output {
        std::process::Command::new(self.0)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .args(args)
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap()
    }
}
