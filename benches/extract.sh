#!/usr/bin/env bash
# The extract builder beside its floor (polars alone reading the same
# tables): one snapshot, and a 24-date quarterly stack, on a generated
# extract of 1,000,000 children over 6 years as Parquet. Wall time and peak
# memory of each, one process per mode, as a Markdown table for
# docs/performance.md.
#
#   bash benches/extract.sh            # REPS=3 CHILDREN=1000000 YEARS=6
#
# Data goes to $BENCH_DIR (default /tmp/safeflag-extract-bench), never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
CHILDREN=${CHILDREN:-1000000}
YEARS=${YEARS:-6}
DIR=${BENCH_DIR:-/tmp/safeflag-extract-bench}
cargo build --release -q -p safeflag-cli -p safeflag-bench
B=$PWD/target/release/safeflag
X=$PWD/target/release/extract-bench
mkdir -p "$DIR"
if [ ! -f "$DIR/x/extract.toml" ]; then
  "$B" generate --extract "$DIR/x" --children "$CHILDREN" --years "$YEARS" --seed 21 -q
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date: $(date -u +%Y-%m-%d), commit: $(git rev-parse --short HEAD 2>/dev/null || echo none), reps: $REPS"
"$X" read "$DIR/x" | sed 's/^/floor: /'
echo
echo "| mode | median wall s | min s | max s | peak RSS MiB | x the read |"
echo "|---|---|---|---|---|---|"
FLOOR=""
. benches/rows.sh
for mode in read load snapshot stack; do
  row "$mode" "$X" "$mode" "$DIR/x"
done
