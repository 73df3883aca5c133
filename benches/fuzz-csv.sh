#!/usr/bin/env bash
# Runs the CSV-ingest property test (crates/safeflag-ingest/tests/it/fuzz.rs)
# for a set time with fresh random seeds each round of 48 cases, and prints
# how many cases ran. A failure prints proptest's minimal failing case.
#
#   bash benches/fuzz-csv.sh [SECONDS]     # default 300
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-300}
echo "machine: $(nproc) cores; date: $(date -u +%Y-%m-%dT%H:%MZ); commit: $(git rev-parse --short HEAD)"
start=$(date +%s)
SAFEFLAG_FUZZ_SECONDS=$SECONDS_TO_RUN cargo test -q -p safeflag-ingest --test it \
  fuzz::csv_ingest_reads_every_record_once_or_refuses_by_line -- --nocapture 2>&1 \
  | grep -E 'fuzz-csv:|panicked|minimal|test result'
echo "wall: $(( $(date +%s) - start )) s"
