use safeflag_extract::{LoadOptions, load, snapshot};

use crate::{date, world};

#[test]
fn a_generated_world_loads_without_quarantine_and_builds_valid_snapshots() {
    let x = world(2_000, 2, 7);
    let dir = tempfile::tempdir().unwrap();
    x.write(dir.path(), "parquet").unwrap();
    let loaded = load(dir.path(), &LoadOptions::default()).unwrap();
    crate::assert_reconciles(&loaded);
    for t in &loaded.reports {
        let r = &t.report;
        assert_eq!(r.rows_quarantined, 0, "{}: {:?}", t.table, r.problems);
        assert!(r.rows_read > 0, "{}", t.table);
    }
    for d in ["2024-06-30", "2025-03-15", "2025-12-31"] {
        let built = snapshot(&loaded, date(d)).unwrap();
        let s = &built.summary;
        assert_eq!(s.quarantined, 0);
        assert_eq!(s.rows, s.by_case_type.values().sum::<usize>());
        assert_eq!(s.by_case_type.len(), 3, "{d}: every case type is open");
        // New investigations have no approved assessment yet: some rows, not most.
        assert!(
            s.no_assessment > 0 && s.no_assessment < s.rows / 2,
            "{d}: {s:?}"
        );
        assert!(built.frame.height() > 50, "{d}: {}", built.frame.height());
    }
}
