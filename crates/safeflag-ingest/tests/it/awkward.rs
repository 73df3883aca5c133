//! Valid-but-awkward input forms that must be accepted as valid.

use crate::*;

fn all_valid(f: &Fixture, rows: usize) -> Validated {
    let v = validate(f);
    assert_eq!(v.report.rows_read, rows);
    assert_eq!(v.report.rows_quarantined, 0, "{:?}", problems(&v));
    v
}

#[test]
fn utf8_bom() {
    let text = format!("\u{feff}{HEADER}\n{}\n", good_row(1));
    let v = all_valid(&file("bom.csv", text), 1);
    assert_eq!(
        v.cases.column("case_id").unwrap().str().unwrap().get(0),
        Some("C1")
    );
}

#[test]
fn crlf_line_endings() {
    let text = format!("{HEADER}\r\n{}\r\n{}\r\n", good_row(1), good_row(2));
    let v = all_valid(&file("crlf.csv", text), 2);
    // The last column must not keep a stray carriage return.
    let days = v
        .cases
        .column("days_since_last_visit")
        .unwrap()
        .i64()
        .unwrap()
        .get(1);
    assert_eq!(days, Some(12));
}

#[test]
fn quoted_fields_with_commas_and_newlines_keep_record_numbers() {
    let awkward = row_with(2, "office", "\"North, Annex\n(2nd floor)\"");
    let text = format!(
        "{HEADER}\n{}\n{awkward}\n{}\n",
        good_row(1),
        row_with(3, "case_type", "bogus")
    );
    let v = validate(&file("quoted.csv", text));
    assert_eq!(v.report.rows_read, 3);
    // Row 3 is the third record even though it is on the fourth physical line after the header.
    assert_eq!(problems(&v), vec![p(3, "case_type", "unknown_code")]);
    assert_eq!(
        v.cases.column("office").unwrap().str().unwrap().get(1),
        Some("North, Annex\n(2nd floor)")
    );
}

#[test]
fn enum_codes_in_any_case_with_spaces() {
    let row = row_with(1, "case_type", "  In_Home ")
        .replacen("crib_bassinet", "CRIB_BASSINET ", 1)
        .replacen(",F,", ", f ,", 1)
        .replacen(",none,current,", ",None, CURRENT,", 1);
    let v = all_valid(&csv(&[row]), 1);
    let get = |c: &str| {
        v.cases
            .column(c)
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .unwrap()
            .to_string()
    };
    assert_eq!(get("case_type"), "in_home");
    assert_eq!(get("sleep_environment"), "crib_bassinet");
    assert_eq!(get("child_sex"), "F");
    assert_eq!(get("parental_substance_use"), "current");
}

#[test]
fn booleans_in_every_spelling() {
    let spellings = [
        ("Y", true),
        ("n", false),
        ("TRUE", true),
        ("0", false),
        ("1", true),
        ("yes", true),
        ("No", false),
        (" false ", false),
    ];
    let rows: Vec<String> = spellings
        .iter()
        .enumerate()
        .map(|(i, (s, _))| row_with(i, "domestic_violence", s))
        .collect();
    let v = all_valid(&csv(&rows), spellings.len());
    let got: Vec<bool> = v
        .cases
        .column("domestic_violence")
        .unwrap()
        .bool()
        .unwrap()
        .iter()
        .map(|b| b.unwrap())
        .collect();
    assert_eq!(got, spellings.iter().map(|(_, b)| *b).collect::<Vec<_>>());
}

#[test]
fn unknown_extra_columns_are_carried_through() {
    let text = format!(
        "{HEADER},agency_note,zip\n{},\"called, no answer\",02134\n",
        good_row(1)
    );
    let v = all_valid(&file("extra.csv", text), 1);
    assert_eq!(
        v.report.extra_columns,
        vec!["agency_note".to_string(), "zip".to_string()]
    );
    // Carried untouched: not trimmed, not typed.
    assert_eq!(
        v.cases.column("zip").unwrap().str().unwrap().get(0),
        Some("02134")
    );
}

#[test]
fn columns_in_any_order_and_optional_columns_absent() {
    let text = "worker_id,case_id,child_id,snapshot_date,office,supervisor_id,case_type,child_birth_date,sleep_environment,parental_mental_health,parental_substance_use,domestic_violence,prior_reports\n\
                W1,C1,K1,2025-03-01,North,S1,investigation,2025-01-01,,none,none,no,0\n";
    let v = all_valid(&file("min.csv", text), 1);
    // Absent optional columns are present as typed nulls, in contract order.
    assert_eq!(v.cases.column("caregiver_age").unwrap().null_count(), 1);
    assert_eq!(v.cases.get_column_names()[1].as_str(), "case_id");
}

#[test]
fn outcome_column_is_carried_when_scoring_and_validated_when_training() {
    let text = format!(
        "{HEADER},outcome_critical_incident\n{},maybe\n",
        good_row(1)
    );
    let f = file("train.csv", text);
    let v = all_valid(&f, 1);
    assert!(
        v.report
            .extra_columns
            .contains(&"outcome_critical_incident".to_string())
    );
    let opts = IngestOptions::default().with_require_outcome(true);
    let v = ingest(&f.path, &opts).unwrap();
    assert_eq!(
        problems(&v),
        vec![p(1, "outcome_critical_incident", "bad_bool")]
    );
}
