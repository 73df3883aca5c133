//! A tiny extract written out by hand, whose snapshot values are checked by
//! hand, and one test for each trap of time.

use std::path::Path;

use safeflag_extract::{LabelOptions, LoadOptions, load, snapshot, stack};

use crate::date;

/// The tiny extract's tables as CSV text, by table name.
pub const TABLES: [(&str, &str); 8] = [
    (
        "persons",
        "person_id,birth_date,sex,race_ethnicity,disability
M1,2005-03-10,F,Black,false
F1,1990-01-01,M,Black,false
K1,2024-11-01,F,Black,false
K2,2019-05-05,M,Black,true
U1,1995-07-07,M,,
K3,2015-01-01,U,White,
M2,,F,White,
",
    ),
    (
        "case_periods",
        "case_id,case_type,office,supervisor_id,worker_id,start_date,end_date,recorded_on
C1,investigation,Northside,S1,W1,2025-01-10,2025-02-20,2025-01-10
C1,in_home,Northside,S1,W2,2025-02-20,2025-04-15,2025-02-21
C1,in_home,Northside,S1,W3,2025-04-15,,2025-04-16
C2,investigation,Eastgate,S2,W9,2025-02-01,,2025-02-01
",
    ),
    (
        "case_members",
        "case_id,person_id,role,in_home,start_date,end_date,recorded_on
C1,M1,parent,true,2025-01-10,,2025-01-10
C1,F1,parent,false,2025-01-10,,2025-01-11
C1,K1,child,true,2025-01-10,,2025-01-10
C1,K2,child,true,2025-01-10,,2025-01-12
C1,U1,unrelated_adult,true,2025-03-05,,2025-03-05
C2,K3,child,true,2025-02-01,,2025-02-01
C2,M2,parent,true,2025-02-01,,2025-02-01
",
    ),
    (
        "reports",
        "report_id,child_id,received_on,recorded_on,disposition,disposed_on,disposition_recorded_on
R1,K2,2023-05-01,2023-05-02,substantiated,2023-06-01,2023-06-05
R2,K1,2025-01-09,2025-01-09,substantiated,2025-02-15,2025-03-10
R3,K2,2025-02-28,2025-03-02,pending,,
R4,K3,2025-02-01,2025-02-01,unsubstantiated,2025-02-20,2025-02-21
",
    ),
    (
        "removals",
        "removal_id,child_id,removed_on,recorded_on,discharged_on
X1,K2,2023-07-01,2023-07-01,2023-12-01
",
    ),
    (
        "contacts",
        "contact_id,case_id,person_id,contact_on,kind,recorded_on
V1,C1,,2025-01-15,face_to_face,2025-01-15
V2,C1,K1,2025-02-25,face_to_face,2025-03-03
V3,C1,K2,2025-02-10,face_to_face,2025-02-11
V4,C1,,2025-02-27,phone,2025-02-27
",
    ),
    (
        "assessments",
        "assessment_id,case_id,child_id,assessed_on,approved_on,sleep_environment,parental_mental_health,parental_substance_use,domestic_violence
A1,C1,K1,2025-01-20,2025-01-25,bed_sharing,current,none,true
A2,C1,K2,2025-01-20,2025-01-25,unknown,current,none,true
A3,C1,K1,2025-02-26,2025-03-04,crib_bassinet,history,current,false
",
    ),
    (
        "incidents",
        "incident_id,child_id,occurred_on,recorded_on,severity,maltreatment
I1,K1,2025-05-01,2025-05-03,serious_injury,true
",
    ),
];

/// Writes the tiny extract, with `edit` applied to each table's text.
pub fn write_tiny(dir: &Path, edit: impl Fn(&str, &str) -> String) {
    for (name, text) in TABLES {
        std::fs::write(dir.join(format!("{name}.csv")), edit(name, text)).unwrap();
    }
    std::fs::write(dir.join("extract.toml"), "extracted-on = 2025-06-30\n").unwrap();
}

fn tiny() -> safeflag_extract::Extract {
    let dir = tempfile::tempdir().unwrap();
    write_tiny(dir.path(), |_, t| t.to_string());
    load(dir.path(), &LoadOptions::default()).unwrap()
}

/// The snapshot as CSV text, for comparing with what was worked out by hand.
fn csv(x: &safeflag_extract::Extract, d: &str) -> String {
    let built = snapshot(x, date(d)).unwrap();
    assert_eq!(built.summary.quarantined, 0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.csv");
    let mut frame = built.frame;
    safeflag_ingest::write_frame(&mut frame, &path).unwrap();
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn hand_checked_rows_of_a_tiny_extract() {
    let x = tiny();
    // On 1 March: the reassignment of 15 April, the adult who moved in on
    // 5 March, the report recorded on 2 March, the finding recorded on
    // 10 March, the visit typed in on 3 March and the assessment approved on
    // 4 March are all unknown.
    assert_eq!(
        csv(&x, "2025-03-01"),
        "case_id,child_id,snapshot_date,office,supervisor_id,worker_id,case_type,child_birth_date,child_sex,child_race_ethnicity,child_disability,sleep_environment,caregiver_age,parental_mental_health,parental_substance_use,domestic_violence,unrelated_adult_in_home,prior_reports,prior_substantiations,prior_removals,children_in_home,days_since_last_visit
C1,K1,2025-03-01,Northside,S1,W2,in_home,2024-11-01,F,Black,false,bed_sharing,19,current,none,true,false,2,1,1,2,45
C1,K2,2025-03-01,Northside,S1,W2,in_home,2019-05-05,M,Black,true,unknown,19,current,none,true,false,2,1,1,2,19
C2,K3,2025-03-01,Eastgate,S2,W9,investigation,2015-01-01,U,White,,,,,,,false,1,0,0,1,
"
    );
    // On 12 March all of them are known; the mother has turned 20.
    assert_eq!(
        csv(&x, "2025-03-12"),
        "case_id,child_id,snapshot_date,office,supervisor_id,worker_id,case_type,child_birth_date,child_sex,child_race_ethnicity,child_disability,sleep_environment,caregiver_age,parental_mental_health,parental_substance_use,domestic_violence,unrelated_adult_in_home,prior_reports,prior_substantiations,prior_removals,children_in_home,days_since_last_visit
C1,K1,2025-03-12,Northside,S1,W2,in_home,2024-11-01,F,Black,false,crib_bassinet,20,history,current,false,true,3,2,1,2,15
C1,K2,2025-03-12,Northside,S1,W2,in_home,2019-05-05,M,Black,true,unknown,20,history,current,false,true,3,2,1,2,30
C2,K3,2025-03-12,Eastgate,S2,W9,investigation,2015-01-01,U,White,,,,,,,false,1,0,0,1,
"
    );
}

/// One column of one child's row on a date, as text (empty when missing).
fn value(x: &safeflag_extract::Extract, d: &str, child: &str, column: &str) -> String {
    let built = snapshot(x, date(d)).unwrap();
    let rows = built.frame;
    let ids = rows.column("child_id").unwrap().str().unwrap().clone();
    let i = ids
        .iter()
        .position(|c| c == Some(child))
        .unwrap_or_else(|| panic!("{child} is not in the snapshot of {d}"));
    let v = rows.column(column).unwrap().get(i).unwrap();
    if v.is_null() {
        String::new()
    } else {
        v.to_string().trim_matches('"').to_string()
    }
}

#[test]
fn trap_a_late_disposition_counts_only_once_recorded() {
    let x = tiny();
    // R2 (on K1, received 9 January) was substantiated on 15 February and
    // the finding recorded on 10 March.
    assert_eq!(value(&x, "2025-02-16", "K1", "prior_substantiations"), "1");
    assert_eq!(value(&x, "2025-03-09", "K1", "prior_substantiations"), "1");
    assert_eq!(value(&x, "2025-03-10", "K1", "prior_substantiations"), "2");
    // The report itself counts from its own recording; R3 (received 28
    // February, recorded 2 March) from 2 March.
    assert_eq!(value(&x, "2025-03-01", "K1", "prior_reports"), "2");
    assert_eq!(value(&x, "2025-03-02", "K1", "prior_reports"), "3");
}

#[test]
fn trap_a_late_contact_counts_only_once_recorded() {
    let x = tiny();
    // V2 (face to face with K1 on 25 February) was typed in on 3 March.
    assert_eq!(value(&x, "2025-03-02", "K1", "days_since_last_visit"), "46");
    assert_eq!(value(&x, "2025-03-03", "K1", "days_since_last_visit"), "6");
    // A phone call is never a visit.
    assert_eq!(value(&x, "2025-02-28", "K2", "days_since_last_visit"), "18");
}

#[test]
fn trap_a_late_assessment_approval_counts_only_once_approved() {
    let x = tiny();
    // A3 was done on 26 February and approved on 4 March.
    for (d, sleep, mh, su, dv) in [
        ("2025-03-03", "bed_sharing", "current", "none", "true"),
        ("2025-03-04", "crib_bassinet", "history", "current", "false"),
    ] {
        assert_eq!(value(&x, d, "K1", "sleep_environment"), sleep, "{d}");
        assert_eq!(value(&x, d, "K1", "parental_mental_health"), mh, "{d}");
        assert_eq!(value(&x, d, "K1", "parental_substance_use"), su, "{d}");
        assert_eq!(value(&x, d, "K2", "domestic_violence"), dv, "{d}");
    }
    // Before the first approval: not yet assessed, never "none".
    assert_eq!(value(&x, "2025-01-24", "K1", "parental_mental_health"), "");
    assert_eq!(value(&x, "2025-01-24", "K1", "domestic_violence"), "");
}

#[test]
fn trap_a_member_who_moved_in_after_the_date_or_was_recorded_after_it() {
    let x = tiny();
    assert_eq!(
        value(&x, "2025-03-04", "K1", "unrelated_adult_in_home"),
        "false"
    );
    assert_eq!(
        value(&x, "2025-03-05", "K1", "unrelated_adult_in_home"),
        "true"
    );
    // The same move, entered three days late.
    let dir = tempfile::tempdir().unwrap();
    write_tiny(dir.path(), |_, t| {
        t.replace(
            "U1,unrelated_adult,true,2025-03-05,,2025-03-05",
            "U1,unrelated_adult,true,2025-03-05,,2025-03-08",
        )
    });
    let late = load(dir.path(), &LoadOptions::default()).unwrap();
    assert_eq!(
        value(&late, "2025-03-07", "K1", "unrelated_adult_in_home"),
        "false"
    );
    assert_eq!(
        value(&late, "2025-03-08", "K1", "unrelated_adult_in_home"),
        "true"
    );
}

#[test]
fn trap_a_reassignment_after_the_date() {
    let x = tiny();
    // W3 takes the case on 15 April (recorded the 16th); before, W2 has it.
    assert_eq!(value(&x, "2025-04-14", "K1", "worker_id"), "W2");
    assert_eq!(value(&x, "2025-04-16", "K1", "worker_id"), "W3");
    // The type change of 20 February likewise.
    assert_eq!(value(&x, "2025-02-19", "K1", "case_type"), "investigation");
    assert_eq!(value(&x, "2025-02-19", "K1", "worker_id"), "W1");
}

fn labels(window_days: u32, lag_days: u32, dates: &[&str]) -> safeflag_extract::Stack {
    let x = tiny();
    let dates: Vec<_> = dates.iter().map(|d| date(d)).collect();
    stack(
        &x,
        &dates,
        LabelOptions {
            window_days,
            lag_days,
        },
    )
    .unwrap()
}

fn k1_label(s: &safeflag_extract::Stack) -> bool {
    let ids = s.frame.column("child_id").unwrap().str().unwrap().clone();
    let i = ids.iter().position(|c| c == Some("K1")).unwrap();
    s.frame
        .column("outcome_critical_incident")
        .unwrap()
        .bool()
        .unwrap()
        .get(i)
        .unwrap()
}

#[test]
fn trap_an_incident_inside_and_outside_the_window() {
    // I1 happened to K1 on 1 May: 61 days after 1 March.
    assert!(!k1_label(&labels(60, 0, &["2025-03-01"])));
    assert!(k1_label(&labels(61, 0, &["2025-03-01"])));
    // On the day itself it is not in the window: the window starts the day after.
    assert!(!k1_label(&labels(30, 0, &["2025-05-01"])));
    assert!(k1_label(&labels(30, 0, &["2025-04-30"])));
}

#[test]
fn trap_a_censored_window_is_left_out_and_counted() {
    // Extract of 30 June, lag 60: windows must close by 1 May.
    let s = labels(30, 60, &["2025-03-01", "2025-04-01", "2025-04-02"]);
    assert_eq!(s.summary.censored_dates, vec!["2025-04-02".to_string()]);
    assert_eq!(s.summary.censored_rows, 3);
    assert_eq!(s.summary.rows, 6);
    assert_eq!(s.frame.height(), 6);
    // Every date censored: nothing to learn from, said plainly.
    let x = tiny();
    let err = stack(&x, &[date("2025-06-01")], LabelOptions::default()).unwrap_err();
    assert!(err.to_string().contains("no row can be labelled"), "{err}");
}

fn load_edited(
    edit: impl Fn(&str, &str) -> String,
    gate: f64,
) -> (
    tempfile::TempDir,
    Result<safeflag_extract::Extract, safeflag_extract::Error>,
) {
    let dir = tempfile::tempdir().unwrap();
    write_tiny(dir.path(), edit);
    let options = LoadOptions {
        max_quarantined_share: gate,
        ..LoadOptions::default()
    };
    let x = load(dir.path(), &options);
    (dir, x)
}

fn error(edit: impl Fn(&str, &str) -> String) -> (String, String) {
    let (dir, x) = load_edited(edit, 0.05);
    let msg = x.unwrap_err().to_string();
    (
        msg.replace(&dir.path().display().to_string(), "DIR"),
        dir.path().display().to_string(),
    )
}

#[test]
fn a_missing_table_a_missing_column_and_no_extract_date_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny(dir.path(), |_, t| t.to_string());
    std::fs::remove_file(dir.path().join("incidents.csv")).unwrap();
    let d = dir.path().display().to_string();
    let err = load(dir.path(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err.replace(&d, "DIR"),
        "extract `DIR` has no `incidents` table (expected `incidents.csv`, `.parquet` or `.arrow`)"
    );
    let (err, _) = error(|name, t| {
        if name == "reports" {
            t.replacen("received_on", "received", 1)
        } else {
            t.to_string()
        }
    });
    assert_eq!(
        err,
        "table `reports`: `DIR/reports.csv` lacks required column `received_on`"
    );
    std::fs::write(dir.path().join("extract.toml"), "# no date\n").unwrap();
    let err = load(dir.path(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err.replace(&d, "DIR"),
        "`DIR/extract.toml`: no extract date: add `extracted-on = YYYY-MM-DD`"
    );
    std::fs::remove_file(dir.path().join("extract.toml")).unwrap();
    let err = load(dir.path(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with(
            "has no `extract.toml` (it names the extract date: `extracted-on = YYYY-MM-DD`)"
        ),
        "{err}"
    );
}

#[test]
fn bad_codes_broken_references_and_impossible_dates_are_quarantined_by_table_row_and_column() {
    let edit = |name: &str, t: &str| match name {
        // Row 6: a child with no birth date (M2, a parent, may have none).
        "persons" => t.replace("K3,2015-01-01,", "K3,,"),
        // Row 3: an unknown role.
        "case_members" => t
            .replace("C1,K1,child,", "C1,K1,kid,")
            // Row 7: a parent the extract does not hold.
            .replace("C2,M2,parent", "C2,Z9,parent"),
        // Row 2: a report recorded after the extract date.
        "reports" => t.replace(
            "2025-01-09,2025-01-09,substantiated",
            "2025-01-09,2025-07-09,substantiated",
        ),
        // Row 1: a removal that ends before it starts.
        "removals" => t.replace("2023-12-01", "2023-06-01"),
        // Row 1: a contact with a case that does not exist.
        "contacts" => t.replace("V1,C1,", "V1,C7,"),
        _ => t.to_string(),
    };
    // The gate trips on the first table over 5%, and names its first problem.
    let (err, _) = error(edit);
    assert_eq!(
        err,
        "table `persons`: data-quality gate: 1 of 7 rows quarantined (14.29%, limit 5.00%); worst columns: `birth_date` (1 problems); first problem: row 6, column `birth_date` (missing_dependent)"
    );
    // With the gate open, every problem is in the quarantine, and every table reconciles.
    let (_dir, x) = load_edited(edit, 1.0);
    let x = x.unwrap();
    crate::assert_reconciles(&x);
    let q = x.quarantine().unwrap();
    let rows: Vec<String> = (0..q.height())
        .map(|i| {
            let cell = |c: &str| {
                q.column(c)
                    .unwrap()
                    .get(i)
                    .unwrap()
                    .to_string()
                    .trim_matches('"')
                    .to_string()
            };
            format!(
                "{} {} {} {}",
                cell("table"),
                cell("row"),
                cell("column"),
                cell("rule")
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "persons 6 birth_date missing_dependent",
            "case_members 3 role unknown_code",
            "case_members 6 person_id unknown_reference",
            "case_members 7 person_id unknown_reference",
            "reports 2 recorded_on recorded_after_extract",
            "reports 4 child_id unknown_reference",
            "removals 1 discharged_on date_order",
            "contacts 1 case_id unknown_reference",
        ]
    );
    // The quarantined rows are gone from what is built: K1 is no longer a
    // child of C1, K3 (no birth date) no longer a child of C2.
    let built = snapshot(&x, date("2025-03-01")).unwrap();
    assert_eq!(built.frame.height(), 1);
}

#[test]
fn an_extract_mapping_is_checked_against_the_tables_when_read() {
    use safeflag_extract::ExtractMapping;
    let err = |text: &str| ExtractMapping::from_toml(text).unwrap_err().to_string();
    assert!(err("[tables.people]\n").contains("`tables.people` is not a table of the extract"));
    assert!(
        err("[tables.persons.columns]\nPID = \"person\"\n").contains(
            "tables.persons.column `PID` is mapped to `person`, which is not a persons column"
        )
    );
    assert!(
        err("[tables.contacts.codes.kind]\nFTF = \"in_person\"\n")
            .contains("`tables.contacts.codes.kind` maps `FTF` to `in_person`")
    );
    assert!(err("[tables.persons]\nfile = \"../persons.csv\"\n").contains("not a path"));
    // A mapped extract reads like a canonical one.
    let dir = tempfile::tempdir().unwrap();
    write_tiny(dir.path(), |name, t| match name {
        "case_members" => t
            .replacen("person_id,role", "PERS,ROLE", 1)
            .replace(",unrelated_adult,", ",PARAMOUR,"),
        _ => t.to_string(),
    });
    let mapping = ExtractMapping::from_toml(
        "[tables.case_members.columns]\nPERS = \"person_id\"\nROLE = \"role\"\n[tables.case_members.codes.role]\nPARAMOUR = \"unrelated_adult\"\n",
    )
    .unwrap();
    let x = load(
        dir.path(),
        &LoadOptions {
            mapping: Some(mapping),
            ..LoadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        value(&x, "2025-03-05", "K1", "unrelated_adult_in_home"),
        "true"
    );
}

#[test]
fn the_latest_assessment_breaks_ties_by_approval_then_id_item_by_item() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny(dir.path(), |name, t| match name {
        // Two more assessments of K1 done on the same day as A3: A5 approved
        // later than A4 (so A5 is later whatever the ids), and A9, approved
        // the same day as A5, wins the tie by its id. A9 rates no household
        // item, so those come from A5.
        "assessments" => format!(
            "{t}A9,C1,K1,2025-02-26,2025-03-06,sofa_chair,,,\n\
             A5,C1,K1,2025-02-26,2025-03-06,adult_bed,none,none,true\n\
             A4,C1,K1,2025-02-26,2025-03-05,other_unsafe,current,current,false\n"
        ),
        _ => t.to_string(),
    });
    let x = load(dir.path(), &LoadOptions::default()).unwrap();
    assert_eq!(
        value(&x, "2025-03-05", "K1", "sleep_environment"),
        "other_unsafe"
    );
    assert_eq!(
        value(&x, "2025-03-05", "K1", "parental_mental_health"),
        "current"
    );
    assert_eq!(
        value(&x, "2025-03-06", "K1", "sleep_environment"),
        "sofa_chair"
    );
    assert_eq!(
        value(&x, "2025-03-06", "K1", "parental_mental_health"),
        "none"
    );
    assert_eq!(value(&x, "2025-03-06", "K2", "domestic_violence"), "true");
    // A stack (the indexed cut) reads them the same way.
    let s = stack(
        &x,
        &[date("2025-03-06")],
        LabelOptions {
            window_days: 1,
            lag_days: 0,
        },
    )
    .unwrap();
    let single = snapshot(&x, date("2025-03-06")).unwrap().frame;
    assert!(
        s.frame
            .drop("outcome_critical_incident")
            .unwrap()
            .equals_missing(&single)
    );
}

#[test]
fn a_table_with_a_header_and_no_rows_is_an_empty_table() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny(dir.path(), |name, t| match name {
        "incidents" | "removals" => t.lines().next().unwrap().to_string() + "\n",
        _ => t.to_string(),
    });
    let x = load(dir.path(), &LoadOptions::default()).unwrap();
    assert_eq!(value(&x, "2025-03-01", "K1", "prior_removals"), "0");
    let s = stack(
        &x,
        &[date("2025-03-01")],
        LabelOptions {
            window_days: 61,
            lag_days: 0,
        },
    )
    .unwrap();
    assert_eq!((s.summary.rows, s.summary.positives), (3, 0));
}

#[test]
fn two_files_that_could_be_one_table_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny(dir.path(), |_, t| t.to_string());
    std::fs::copy(
        dir.path().join("removals.csv"),
        dir.path().join("removals.arrow"),
    )
    .unwrap();
    let err = load(dir.path(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    let d = dir.path().display().to_string();
    assert_eq!(
        err.replace(&d, "DIR"),
        "extract `DIR` has two files for table `removals`: `removals.csv` and `removals.arrow`"
    );
}
