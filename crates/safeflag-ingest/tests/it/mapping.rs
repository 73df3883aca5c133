//! An agency mapping renames columns and translates codes before validation.

use safeflag_ingest::Mapping;

use crate::*;

#[test]
fn agency_columns_codes_and_date_format() {
    let header = HEADER
        .replace("case_id", "CASE_NO")
        .replace("case_type", "SVC")
        .replace("domestic_violence", "DV_FLAG");
    let row = good_row(1)
        .replace("in_home", "IH")
        .replace("2025-03-01", "03/01/2025")
        .replace("2024-12-01", "12/01/2024")
        .replace(",current,true,", ",current,D,");
    // Row 2 keeps its ISO snapshot date, which the declared format does not read.
    let bad = row_with(2, "case_type", "XX").replace("2024-12-01", "12/01/2024");
    let f = file("agency.csv", format!("{header}\n{row}\n{bad}\n"));
    let mapping = Mapping::from_toml(
        r#"
        date-format = "%m/%d/%Y"
        [columns]
        CASE_NO = "case_id"
        SVC = "case_type"
        DV_FLAG = "domestic_violence"
        [codes.case_type]
        ih = "in_home"
        [codes.domestic_violence]
        D = "true"
        "#,
    )
    .unwrap();
    let v = ingest(
        &f.path,
        &IngestOptions::default().with_mapping(Some(mapping)),
    )
    .unwrap();
    // The second row's ISO snapshot date does not match the declared format.
    assert_eq!(
        problems(&v),
        vec![
            p(2, "snapshot_date", "bad_date"),
            p(2, "case_type", "unknown_code")
        ]
    );
    assert_eq!(
        v.cases.column("case_type").unwrap().str().unwrap().get(0),
        Some("in_home")
    );
    assert_eq!(
        v.cases
            .column("domestic_violence")
            .unwrap()
            .bool()
            .unwrap()
            .get(0),
        Some(true)
    );
    assert_eq!(
        v.cases.column("case_id").unwrap().str().unwrap().get(0),
        Some("C1")
    );
}
