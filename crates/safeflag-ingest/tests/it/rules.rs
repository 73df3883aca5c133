//! Each contract rule, broken once among valid rows, is reported with its row and column.

use crate::*;

/// Three rows; the second breaks the rule. Returns the quarantine triples.
fn break_once(column: &str, value: &str) -> Vec<(u64, String, String)> {
    let f = csv(&[good_row(1), row_with(2, column, value), good_row(3)]);
    let v = validate(&f);
    assert_eq!(v.report.rows_read, 3);
    assert_eq!(v.report.rows_quarantined, 1);
    problems(&v)
}

#[test]
fn missing_required_value() {
    for column in [
        "case_id",
        "office",
        "worker_id",
        "case_type",
        "prior_reports",
    ] {
        assert_eq!(
            break_once(column, ""),
            vec![p(2, column, "missing_required")],
            "{column}"
        );
    }
    // Contract 1.1: the household items may be empty (not yet assessed), but
    // their columns must be there.
    for column in [
        "parental_mental_health",
        "parental_substance_use",
        "domestic_violence",
    ] {
        let f = csv(&[good_row(1), row_with(2, column, ""), good_row(3)]);
        let v = validate(&f);
        assert_eq!(v.report.rows_quarantined, 0, "{column}");
    }
    assert_eq!(
        break_once("supervisor_id", " NA "),
        vec![p(2, "supervisor_id", "missing_required")]
    );
    assert_eq!(
        break_once("child_birth_date", "null"),
        vec![p(2, "child_birth_date", "missing_required")]
    );
}

#[test]
fn optional_and_may_be_empty_values_can_be_missing() {
    let f = csv(&[
        row_with(1, "sleep_environment", ""),
        row_with(2, "caregiver_age", "N/A"),
        row_with(3, "child_sex", "NULL"),
        row_with(4, "child_disability", ""),
        row_with(5, "days_since_last_visit", "na"),
    ]);
    let v = validate(&f);
    assert_eq!(v.report.rows_quarantined, 0, "{:?}", problems(&v));
    let sleep = v.cases.column("sleep_environment").unwrap();
    assert_eq!(sleep.null_count(), 1);
}

#[test]
fn unparseable_dates() {
    for bad in [
        "2021-02-30",
        "2021-3-4",
        "03/01/2025",
        "2025-13-01",
        "yesterday",
        "2025-03-01T00:00",
    ] {
        assert_eq!(
            break_once("snapshot_date", bad),
            vec![p(2, "snapshot_date", "bad_date")],
            "{bad}"
        );
    }
    assert_eq!(
        break_once("child_birth_date", "2024-02-30"),
        vec![p(2, "child_birth_date", "bad_date")]
    );
}

#[test]
fn leap_day_is_a_date() {
    let v = validate(&csv(&[row_with(1, "child_birth_date", "2024-02-29")]));
    assert_eq!(v.report.rows_quarantined, 0);
}

#[test]
fn unknown_enum_codes() {
    assert_eq!(
        break_once("case_type", "foster"),
        vec![p(2, "case_type", "unknown_code")]
    );
    assert_eq!(
        break_once("sleep_environment", "hammock"),
        vec![p(2, "sleep_environment", "unknown_code")]
    );
    assert_eq!(
        break_once("child_sex", "X"),
        vec![p(2, "child_sex", "unknown_code")]
    );
    assert_eq!(
        break_once("parental_substance_use", "sometimes"),
        vec![p(2, "parental_substance_use", "unknown_code")]
    );
}

#[test]
fn bad_booleans() {
    assert_eq!(
        break_once("domestic_violence", "maybe"),
        vec![p(2, "domestic_violence", "bad_bool")]
    );
    assert_eq!(
        break_once("child_disability", "2"),
        vec![p(2, "child_disability", "bad_bool")]
    );
}

#[test]
fn bad_integers() {
    assert_eq!(
        break_once("prior_reports", "two"),
        vec![p(2, "prior_reports", "not_integer")]
    );
    assert_eq!(
        break_once("caregiver_age", "24.5"),
        vec![p(2, "caregiver_age", "not_integer")]
    );
}

#[test]
fn out_of_range_counts_and_ages() {
    assert_eq!(
        break_once("prior_reports", "-1"),
        vec![p(2, "prior_reports", "out_of_range")]
    );
    assert_eq!(
        break_once("prior_removals", "-3"),
        vec![p(2, "prior_removals", "out_of_range")]
    );
    assert_eq!(
        break_once("days_since_last_visit", "-2"),
        vec![p(2, "days_since_last_visit", "out_of_range")]
    );
    assert_eq!(
        break_once("children_in_home", "0"),
        vec![p(2, "children_in_home", "out_of_range")]
    );
    assert_eq!(
        break_once("caregiver_age", "9"),
        vec![p(2, "caregiver_age", "out_of_range")]
    );
    assert_eq!(
        break_once("caregiver_age", "101"),
        vec![p(2, "caregiver_age", "out_of_range")]
    );
    // The bounds themselves are allowed.
    let v = validate(&csv(&[
        row_with(1, "caregiver_age", "10"),
        row_with(2, "caregiver_age", "100"),
    ]));
    assert_eq!(v.report.rows_quarantined, 0);
}

#[test]
fn birth_after_snapshot() {
    assert_eq!(
        break_once("child_birth_date", "2025-03-02"),
        vec![p(2, "child_birth_date", "birth_after_snapshot")]
    );
    // Born on the snapshot date is fine.
    let v = validate(&csv(&[row_with(1, "child_birth_date", "2025-03-01")]));
    assert_eq!(v.report.rows_quarantined, 0);
}

#[test]
fn duplicate_key_quarantines_the_later_copy() {
    let f = csv(&[
        good_row(1),
        good_row(2),
        good_row(1),
        good_row(3),
        good_row(1),
    ]);
    let v = validate(&f);
    assert_eq!(
        problems(&v),
        vec![
            p(3, "child_id", "duplicate_key"),
            p(5, "child_id", "duplicate_key")
        ]
    );
    let kept: Vec<u64> = v
        .cases
        .column("source_row")
        .unwrap()
        .cast(&DataType::UInt64)
        .unwrap()
        .u64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(kept, vec![1, 2, 4]);
}

#[test]
fn same_child_on_two_dates_is_not_a_duplicate() {
    let f = csv(&[good_row(1), row_with(1, "snapshot_date", "2025-06-01")]);
    assert_eq!(validate(&f).report.rows_quarantined, 0);
}

#[test]
fn every_problem_of_a_row_is_listed_in_contract_order() {
    let mut row = row_with(1, "case_type", "nope");
    row = row.replacen("2024-12-01", "2024-1-1", 1);
    row = row.replacen(",2,1,0,3,12", ",-2,1,0,3,x", 1);
    let v = validate(&csv(&[row]));
    assert_eq!(
        problems(&v),
        vec![
            p(1, "case_type", "unknown_code"),
            p(1, "child_birth_date", "bad_date"),
            p(1, "prior_reports", "out_of_range"),
            p(1, "days_since_last_visit", "not_integer"),
        ]
    );
    assert_eq!(v.report.rows_quarantined, 1);
    let values: Vec<_> = v
        .report
        .quarantine
        .column("value")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect();
    assert_eq!(
        values,
        vec![
            Some("nope".into()),
            Some("2024-1-1".into()),
            Some("-2".into()),
            Some("x".into())
        ]
    );
}

#[test]
fn valid_cases_are_typed_to_the_contract() {
    let v = validate(&csv(&[good_row(1)]));
    let s = v.cases.schema();
    assert_eq!(s.get("snapshot_date"), Some(&DataType::Date));
    assert_eq!(s.get("domestic_violence"), Some(&DataType::Boolean));
    assert_eq!(s.get("prior_reports"), Some(&DataType::Int64));
    assert_eq!(s.get("case_type"), Some(&DataType::String));
    assert_eq!(v.cases.get_column_names()[0].as_str(), "source_row");
}

#[test]
fn gate_names_the_worst_columns() {
    let mut rows: Vec<String> = (0..18).map(good_row).collect();
    rows.push(row_with(100, "child_birth_date", "bad"));
    rows.push(row_with(101, "child_birth_date", "bad"));
    let v = validate(&csv(&rows));
    assert!(v.report.check_gate(0.2).is_ok());
    let err = v.report.check_gate(0.05).unwrap_err();
    assert_eq!(
        err.to_string(),
        "data-quality gate: 2 of 20 rows quarantined (10.00%, limit 5.00%); worst columns: `child_birth_date` (2 problems)"
    );
}
