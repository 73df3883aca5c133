#!/usr/bin/env bash
# The rolling-origin backtest beside its floor: one `safeflag train` of the
# default settings on the same extract's whole stack (what a single model
# costs), then the backtest of every default candidate over 8 cut-offs.
# A generated extract of 20,000 children over 4 years (about 160,000
# labelled rows); medians of REPS runs, wall time and peak memory.
#
#   bash benches/backtest.sh          # REPS=3 CHILDREN=20000 YEARS=4
#
# Data goes to $BENCH_DIR (default /tmp/safeflag-backtest-bench), never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
CHILDREN=${CHILDREN:-20000}
YEARS=${YEARS:-4}
DIR=${BENCH_DIR:-/tmp/safeflag-backtest-bench}
cargo build --release -q -p safeflag-cli
B=$PWD/target/release/safeflag
mkdir -p "$DIR"
if [ ! -f "$DIR/x/extract.toml" ]; then
  "$B" generate --extract "$DIR/x" --children "$CHILDREN" --years "$YEARS" --seed 7 -q
fi
STACK=(--from 2022-01-15 --to 2025-12-31 --every 14)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date: $(date -u +%Y-%m-%d), commit: $(git rev-parse --short HEAD 2>/dev/null || echo none), reps: $REPS"
echo
echo "| run | median wall s | min s | max s | peak RSS MiB | x one train |"
echo "|---|---|---|---|---|---|"
FLOOR=""
BEFORE_EACH='rm -rf "$DIR/model"'
. benches/rows.sh
row "train (default settings, whole stack)" "$B" -q train "$DIR/x" "${STACK[@]}" --out "$DIR/model"
row "backtest, 5 candidates x 8 cut-offs" "$B" -q backtest "$DIR/x" "${STACK[@]}" --period 56 --cutoffs 8
row "backtest, logistic-l2-1 x 8 cut-offs" "$B" -q backtest "$DIR/x" "${STACK[@]}" --period 56 --cutoffs 8 --candidate logistic-l2-1
