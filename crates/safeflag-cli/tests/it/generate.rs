//! `safeflag generate` is deterministic and made the committed samples.

use crate::*;

#[test]
fn same_seed_gives_byte_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.parquet", "b.parquet", "a.csv", "b.csv"] {
        let out = safeflag(
            dir.path(),
            &[
                "generate",
                "--rows",
                "3000",
                "--seed",
                "9",
                "--snapshots",
                "2",
                "--out",
                name,
                "-q",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
    assert_eq!(read("a.parquet"), read("b.parquet"));
    assert_eq!(read("a.csv"), read("b.csv"));
    assert_eq!(read("a.csv").iter().filter(|&&b| b == b'\n').count(), 3001);
}

#[test]
fn committed_samples_match_the_generator() {
    // The commands of data-samples/make.sh.
    let dir = tempfile::tempdir().unwrap();
    let runs: [&[&str]; 4] = [
        &[
            "generate",
            "--rows",
            "50000",
            "--snapshots",
            "8",
            "--first-date",
            "2023-09-01",
            "--seed",
            "1",
            "--out",
            "training.parquet",
        ],
        &[
            "generate",
            "--rows",
            "10000",
            "--seed",
            "2",
            "--no-outcome",
            "--out",
            "snapshot.csv",
        ],
        &[
            "generate",
            "--messy",
            "--seed",
            "7",
            "--out",
            "messy.csv",
            "--expected",
            "messy.expected.csv",
        ],
        &[
            "generate",
            "--extract",
            "extract",
            "--children",
            "3000",
            "--years",
            "2",
            "--seed",
            "12",
            "--format",
            "csv",
        ],
    ];
    for args in runs {
        let out = safeflag(dir.path(), args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let tables = std::fs::read_dir(sample("extract"))
        .unwrap()
        .map(|e| format!("extract/{}", e.unwrap().file_name().to_string_lossy()));
    let tables: Vec<String> = tables.collect();
    assert_eq!(tables.len(), 9, "eight tables and extract.toml");
    for name in [
        "training.parquet",
        "snapshot.csv",
        "messy.csv",
        "messy.expected.csv",
    ]
    .into_iter()
    .chain(tables.iter().map(String::as_str))
    {
        let fresh = std::fs::read(dir.path().join(name)).unwrap();
        let committed = std::fs::read(sample(name)).unwrap();
        assert!(
            fresh == committed,
            "data-samples/{name} differs from the generator; run data-samples/make.sh"
        );
    }
}

#[test]
fn truth_file_aligns_with_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = safeflag(
        dir.path(),
        &[
            "generate", "--rows", "500", "--out", "c.csv", "--truth", "t.csv", "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let truth = std::fs::read_to_string(dir.path().join("t.csv")).unwrap();
    assert!(truth.starts_with("child_id,snapshot_date,true_probability\n"));
    assert_eq!(truth.lines().count(), 501);
    for line in truth.lines().skip(1) {
        let p: f64 = line.rsplit(',').next().unwrap().parse().unwrap();
        assert!(p > 0.0 && p < 1.0, "{line}");
    }
}
