#!/usr/bin/env bash
# Regenerates every file in data-samples/ with the safeflag tool. The output is
# deterministic: running this again gives byte-identical files (a test checks
# the committed ones against the generator).
#   cargo build --release -p safeflag-cli && bash data-samples/make.sh
set -euo pipefail
cd "$(dirname "$0")"
B=${SAFEFLAG:-../target/release/safeflag}

# Training set: 50,000 rows over 8 quarterly snapshots, with the outcome.
"$B" generate --rows 50000 --snapshots 8 --first-date 2023-09-01 --seed 1 --out training.parquet
# Tonight's snapshot: 10,000 rows, no outcome.
"$B" generate --rows 10000 --seed 2 --no-outcome --out snapshot.csv
# The messy file: every contract rule broken at known rows, in awkward-but-valid CSV.
"$B" generate --messy --seed 7 --out messy.csv --expected messy.expected.csv

# An agency-style extract for agency-mapping.toml: agency column names and
# codes, US-style dates. Built from generated data by renaming.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$B" generate --rows 200 --seed 5 --no-outcome --out "$tmp/src.csv"
{
  echo "CASE_NUM,CHILD_NUM,EXTRACT_DT,AREA_OFFICE,SUPV_ID,WRKR_ID,SVC_TYPE,DOB,SEX,RACE_ETH,SPECIAL_NEEDS,SLEEP_LOC,CG_AGE,CG_MH,CG_SUB,DV_IND,PARAMOUR_IND,PRIOR_RPTS,PRIOR_SUBS,PRIOR_RMVLS,HH_CHILDREN,DAYS_SINCE_CONTACT"
  tail -n +2 "$tmp/src.csv" | sed -E \
    -e 's#([0-9]{4})-([0-9]{2})-([0-9]{2})#\2/\3/\1#g' \
    -e 's/,investigation,/,INV,/; s/,in_home,/,IHS,/; s/,out_of_home,/,OOH,/' \
    -e 's/,crib_bassinet,/,CRIB,/; s/,adult_bed,/,ADULT,/; s/,bed_sharing,/,COSLEEP,/; s/,sofa_chair,/,COUCH,/' \
    -e 's/,other_unsafe,/,OTHER,/; s/,unknown,/,UNK,/; s/,not_assessed,/,NA_ASSESS,/'
} > agency-extract.csv


# A relational extract (docs/extract-contract.md): about 3,000 children over
# two years, eight CSV tables and extract.toml, for `safeflag snapshot` and
# a nightly run from an extract.
rm -rf extract
"$B" generate --extract extract --children 3000 --years 2 --seed 12 --format csv

# The same kind of extract in an agency's own names, codes and US dates, for
# extract-mapping.toml: a smaller world, renamed table by table.
rm -rf agency-extract-src agency-extract
"$B" generate --extract agency-extract-src --children 400 --years 2 --seed 13 --format csv -q
mkdir agency-extract
us_dates='s#([0-9]{4})-([0-9]{2})-([0-9]{2})#\2/\3/\1#g'
rename() { # rename SRC DEST HEADER SED...
  local src=$1 dest=$2 header=$3; shift 3
  { echo "$header"; tail -n +2 "agency-extract-src/$src.csv" | sed -E -e "$us_dates" "$@"; } > "agency-extract/$dest"
}
rename persons PERSON.csv "PERS_ID,DOB,GENDER,RACE_ETH,SPECIAL_NEEDS" \
  -e 's/,F,/,FEMALE,/; s/,M,/,MALE,/; s/,U,/,UNKNOWN,/'
rename case_periods CASE_ASSIGNMENT.csv "CASE_NUM,SVC_TYPE,AREA_OFFICE,SUPV_ID,WRKR_ID,ASGN_BEGIN_DT,ASGN_END_DT,ENTERED_DT" \
  -e 's/,investigation,/,INV,/; s/,in_home,/,IHS,/; s/,out_of_home,/,OOH,/'
rename case_members CASE_PARTICIPANT.csv "CASE_NUM,PERS_ID,PART_ROLE,IN_HH,PART_BEGIN_DT,PART_END_DT,ENTERED_DT" \
  -e 's/,child,/,CHILD,/; s/,parent,/,PARENT,/; s/,caregiver,/,CG,/; s/,relative,/,REL,/; s/,unrelated_adult,/,PARAMOUR,/' \
  -e 's/,true,/,Y,/; s/,false,/,N,/'
rename reports INTAKE_ALLEGATION.csv "INTAKE_ID,VICTIM_PERS_ID,INTAKE_DT,ENTERED_DT,FINDING,FINDING_DT,FINDING_ENTERED_DT" \
  -e 's/,substantiated,/,SUB,/; s/,indicated,/,IND,/; s/,unsubstantiated,/,UNSUB,/; s/,screened_out,/,SO,/; s/,pending,/,PEND,/'
rename removals REMOVAL_EPISODE.csv "RMVL_ID,CHILD_PERS_ID,RMVL_DT,ENTERED_DT,DISCH_DT"
rename contacts CONTACT.csv "CONTACT_ID,CASE_NUM,SEEN_PERS_ID,CONTACT_DT,CONTACT_TYPE,ENTERED_DT" \
  -e 's/,face_to_face,/,FTF,/; s/,phone,/,PHONE,/; s/,video,/,VIDEO,/; s/,attempted,/,ATTEMPT,/'
rename assessments SAFETY_ASSESSMENT.csv "ASMT_ID,CASE_NUM,CHILD_PERS_ID,ASMT_DT,APPROVAL_DT,SLEEP_LOC,CG_MH,CG_SUB,DV_IND" \
  -e 's/,crib_bassinet,/,CRIB,/; s/,adult_bed,/,ADULT,/; s/,bed_sharing,/,COSLEEP,/; s/,sofa_chair,/,COUCH,/' \
  -e 's/,other_unsafe,/,OTHER,/; s/,unknown,/,UNK,/; s/,not_assessed,/,NA_ASSESS,/'
rename incidents CRITICAL_INCIDENT.csv "INCIDENT_ID,CHILD_PERS_ID,INCIDENT_DT,ENTERED_DT,SEVERITY,MALTX_IND" \
  -e 's/,fatality,/,FAT,/; s/,near_fatality,/,NEAR,/; s/,serious_injury,/,SI,/'
cp agency-extract-src/extract.toml agency-extract/
rm -rf agency-extract-src
chmod 0755 extract agency-extract
chmod 0644 ./*.csv ./*.parquet extract/* agency-extract/*
