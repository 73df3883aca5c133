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
chmod 0644 ./*.csv ./*.parquet
