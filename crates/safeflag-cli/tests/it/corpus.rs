//! A corpus of hostile files, generated from the sample snapshot (each a
//! named mutation, so a failure says which), run through `validate` and
//! `score`. Every file ends in exit 0, 1 or 3 with a one-line message, never
//! a panic or exit 2; where it is read, rows read = valid + quarantined =
//! the records an independent strict reader (the `csv` crate) counts, and
//! every row read is scored or quarantined.

use std::path::Path;

use crate::*;

/// The sample's header and first 300 records, as lines.
fn base() -> Vec<String> {
    std::fs::read_to_string(sample("snapshot.csv"))
        .unwrap()
        .lines()
        .take(301)
        .map(str::to_string)
        .collect()
}

/// Replaces field `col` of line `line` (0 = header).
fn set(lines: &mut [String], line: usize, col: usize, value: &str) {
    let mut f: Vec<String> = lines[line].split(',').map(str::to_string).collect();
    f[col] = value.to_string();
    lines[line] = f.join(",");
}

fn join(lines: &[String], end: &str) -> Vec<u8> {
    (lines.join(end) + end).into_bytes()
}

/// (name, bytes) of every hostile CSV.
fn csv_corpus() -> Vec<(&'static str, Vec<u8>)> {
    let b = base();
    let edit = |f: &dyn Fn(&mut Vec<String>)| {
        let mut l = b.clone();
        f(&mut l);
        join(&l, "\n")
    };
    let mut c: Vec<(&'static str, Vec<u8>)> = vec![
        ("plain", join(&b, "\n")),
        ("crlf", join(&b, "\r\n")),
        ("lone-cr", join(&b, "\r")),
        ("mixed-line-ends", {
            let mut v = join(&b[..100], "\r\n");
            v.extend(join(&b[100..], "\n"));
            v
        }),
        ("no-final-newline", b.join("\n").into_bytes()),
        ("blank-lines-inside", edit(&|l| l.insert(50, String::new()))),
        (
            "blank-lines-trailing",
            [join(&b, "\n"), b"\n\n\n".to_vec()].concat(),
        ),
        ("whitespace-line", edit(&|l| l.insert(50, "   ".into()))),
        ("commas-only-line", edit(&|l| l.insert(50, ",".repeat(21)))),
        ("bom", [b"\xef\xbb\xbf".to_vec(), join(&b, "\n")].concat()),
        ("stray-quote", edit(&|l| set(l, 10, 3, r#""R""iver"side""#))),
        ("quote-in-unquoted", edit(&|l| set(l, 10, 3, r#"Riv"er"#))),
        ("unclosed-quote", edit(&|l| set(l, 300, 3, r#""Riverside"#))),
        ("doubled-quotes", edit(&|l| set(l, 10, 3, r#""O""Brien""#))),
        (
            "quoted-newline",
            edit(&|l| set(l, 10, 3, "\"North\nside\"")),
        ),
        ("quoted-comma", edit(&|l| set(l, 10, 3, "\"North, side\""))),
        ("invalid-utf8", {
            let mut v = join(&b, "\n");
            let at = v.len() / 2;
            v[at] = 0xff;
            v
        }),
        ("latin1", edit(&|l| set(l, 10, 3, "Ni\u{f1}o"))),
        ("nul-byte", edit(&|l| set(l, 10, 5, "W\0X"))),
        ("header-only", join(&b[..1], "\n")),
        ("empty", Vec::new()),
        ("only-blank-lines", b"\n\n\n".to_vec()),
        (
            "blank-first-line",
            [b"\n".to_vec(), join(&b, "\n")].concat(),
        ),
        ("duplicate-column", edit(&|l| set(l, 0, 5, "office"))),
        ("missing-column", edit(&|l| set(l, 0, 3, "offise"))),
        (
            "extra-column",
            edit(&|l| {
                for (i, x) in l.iter_mut().enumerate() {
                    x.push_str(if i == 0 { ",note" } else { ",x" });
                }
            }),
        ),
        (
            "ragged-short",
            edit(&|l| {
                let cut: Vec<&str> = l[20].split(',').take(10).collect();
                l[20] = cut.join(",");
            }),
        ),
        ("ragged-long", edit(&|l| l[20].push_str(",extra,fields"))),
        (
            "huge-count",
            edit(&|l| set(l, 10, 17, "99999999999999999999999")),
        ),
        ("negative-count", edit(&|l| set(l, 10, 17, "-4"))),
        ("fraction-count", edit(&|l| set(l, 10, 17, "2.5"))),
        (
            "bad-dates",
            edit(&|l| {
                set(l, 10, 2, "21/11/2025");
                set(l, 11, 7, "2025-02-30");
            }),
        ),
        (
            "formula-ids",
            edit(&|l| {
                set(l, 10, 5, "=HYPERLINK(\"\"x\"\")");
                set(l, 11, 4, "+cmd|calc");
                set(l, 12, 0, "@SUM(1)");
            }),
        ),
        (
            "megabyte-field",
            edit(&|l| set(l, 10, 5, &"W".repeat(1 << 20))),
        ),
        (
            "tab-separated",
            join(
                &b.iter().map(|x| x.replace(',', "\t")).collect::<Vec<_>>(),
                "\n",
            ),
        ),
        (
            "semicolon-separated",
            join(
                &b.iter().map(|x| x.replace(',', ";")).collect::<Vec<_>>(),
                "\n",
            ),
        ),
        (
            "unicode-names",
            edit(&|l| {
                set(l, 10, 3, "Ωμέγα");
                set(l, 11, 3, "北区");
                set(l, 12, 5, "🙂");
            }),
        ),
        (
            "all-duplicate-keys",
            edit(&|l| {
                for i in 2..l.len() {
                    l[i] = l[1].clone();
                }
            }),
        ),
        (
            "header-in-other-case",
            edit(&|l| l[0] = l[0].to_uppercase()),
        ),
        ("one-record", join(&b[..2], "\n")),
        (
            "quoted-header",
            edit(&|l| {
                l[0] = l[0]
                    .split(',')
                    .map(|h| format!("\"{h}\""))
                    .collect::<Vec<_>>()
                    .join(",");
            }),
        ),
    ];
    // Latin-1 bytes: the UTF-8 text above re-encoded as one byte per char.
    if let Some((_, v)) = c.iter_mut().find(|(n, _)| *n == "latin1") {
        let text = String::from_utf8(v.clone()).unwrap();
        *v = text.chars().map(|ch| ch as u32 as u8).collect();
    }
    c
}

/// Records an independent strict reader counts (header excluded), or None
/// when it cannot read the file.
fn strict_count(path: &Path) -> Option<usize> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_path(path)
        .ok()?;
    let mut n = 0;
    for rec in r.byte_records() {
        rec.ok()?;
        n += 1;
    }
    Some(n)
}

/// Runs one file through `validate --json` and `score`; checks the exit
/// codes, the one-line errors and the counts.
fn check(dir: &Path, name: &str, file: &str, strict: Option<usize>) {
    let out = safeflag(
        dir,
        &["-q", "validate", file, "--max-quarantine", "1", "--json"],
    );
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1 | 3)),
        "{name}: validate exit {code:?}: {}",
        stderr(&out)
    );
    if code == Some(0) {
        let v: safeflag_pipeline::reports::ValidationJson =
            serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v.rows_read, v.rows_valid + v.rows_quarantined, "{name}");
        if let Some(n) = strict {
            assert_eq!(
                v.rows_read, n,
                "{name}: rows read against the strict reader"
            );
        }
    } else {
        assert_eq!(stderr(&out).lines().count(), 1, "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with("error: "),
            "{name}: {}",
            stderr(&out)
        );
    }
    let run = format!("run-{name}");
    let out = score_with(dir, Path::new(file), &["--out", &run, "--json", "-q"]);
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1 | 3)),
        "{name}: score exit {code:?}: {}",
        stderr(&out)
    );
    if code == Some(0) {
        let m: safeflag_report::RunManifest = serde_json::from_str(&stdout(&out)).unwrap();
        assert!(m.counts.reconciles(), "{name}: {:?}", m.counts);
    } else {
        assert_eq!(stderr(&out).lines().count(), 1, "{name}: {}", stderr(&out));
    }
}

#[test]
fn hostile_csv_files_end_in_0_1_or_3_and_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let corpus = csv_corpus();
    assert!(corpus.len() >= 40);
    for (name, bytes) in &corpus {
        let file = format!("{name}.csv");
        std::fs::write(d.join(&file), bytes).unwrap();
        let strict = strict_count(&d.join(&file));
        check(d, name, &file, strict);
    }
}

#[test]
fn hostile_binary_files_end_in_0_1_or_3() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plain = base().join("\n") + "\n";
    std::fs::write(d.join("plain.csv"), &plain).unwrap();
    let out = safeflag(
        d,
        &["generate", "--rows", "500", "--out", "good.parquet", "-q"],
    );
    assert_eq!(out.status.code(), Some(0));
    let good = std::fs::read(d.join("good.parquet")).unwrap();
    let files: Vec<(&str, &str, Vec<u8>)> = vec![
        ("csv-named-parquet", "parquet", plain.clone().into_bytes()),
        (
            "truncated-parquet",
            "parquet",
            good[..good.len() / 2].to_vec(),
        ),
        (
            "parquet-no-footer",
            "parquet",
            good[..good.len() - 8].to_vec(),
        ),
        ("zero-byte-parquet", "parquet", Vec::new()),
        (
            "random-arrow",
            "arrow",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect(),
        ),
        ("parquet-named-csv", "csv", good.clone()),
        ("good-parquet", "parquet", good),
    ];
    for (name, ext, bytes) in files {
        let file = format!("{name}.{ext}");
        std::fs::write(d.join(&file), bytes).unwrap();
        check(d, name, &file, None);
    }
    // A FIFO is named as such, not read as "empty".
    let fifo = d.join("fifo.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let out = safeflag(d, &["validate", "fifo.csv"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("not a regular file"),
            "{}",
            stderr(&out)
        );
    }
}
