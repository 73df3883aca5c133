#!/usr/bin/env bash
# End-to-end benchmarks of the safeflag CLI: wall time and peak memory of whole
# commands on generated data, median of REPS runs, printed as a Markdown table
# for docs/performance.md.
#
#   bash benches/e2e.sh            # all cases
#   REPS=5 bash benches/e2e.sh validate-1m
#
# Data is generated into $BENCH_DIR (default /tmp/safeflag-bench), never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
DIR=${BENCH_DIR:-/tmp/safeflag-bench}
mkdir -p "$DIR"
cargo build --release -q -p safeflag-cli
B=$PWD/target/release/safeflag

# name | target | command (run in $DIR)
cases=(
  "generate-5m-parquet|<= 10 s|$B generate --rows 5000000 --seed 3 --no-outcome --out $DIR/5m.parquet -q"
  "generate-1m-csv||$B generate --rows 1000000 --seed 4 --no-outcome --out $DIR/1m.csv -q"
  "validate-1m-csv|<= 3 s|$B validate $DIR/1m.csv -q"
  "validate-5m-parquet||$B validate $DIR/5m.parquet -q"
  "score-1m-parquet||$B score $DIR/1m.parquet --model models/default --out $DIR/run1m -q"
  "score-5m-parquet|<= 5 s, <= 3 GB|$B score $DIR/5m.parquet --model models/default --out $DIR/run5m -q"
  "score-5m-csv|<= 10 s|$B score $DIR/5m.csv --model models/default --out $DIR/run5mcsv -q"
  "nightly-5m-parquet||$B nightly --config $DIR/nightly.toml -q"
  "train-1m-logistic|<= 10 s|$B train $DIR/train1m.parquet --out $DIR/models/logistic-1m -q"
  "train-1m-gbm||$B train $DIR/train1m.parquet --model gbm --out $DIR/models/gbm-1m -q"
)

want=("$@")
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date: $(date -u +%Y-%m-%d), commit: $(git rev-parse --short HEAD 2>/dev/null || echo none), reps: $REPS"
echo
echo "| case | target | median wall s | min s | max s | peak RSS MiB |"
echo "|---|---|---|---|---|---|"
for c in "${cases[@]}"; do
  IFS='|' read -r name target cmd <<<"$c"
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $name " ]]; then continue; fi
  # Inputs of later cases are made by earlier ones; make them if asked alone.
  case $name in
    validate-1m-csv) [ -f "$DIR/1m.csv" ] || $B generate --rows 1000000 --seed 4 --no-outcome --out "$DIR/1m.csv" -q ;;
    validate-5m-parquet) [ -f "$DIR/5m.parquet" ] || $B generate --rows 5000000 --seed 3 --no-outcome --out "$DIR/5m.parquet" -q ;;
    score-1m-parquet) [ -f "$DIR/1m.parquet" ] || $B generate --rows 1000000 --seed 4 --no-outcome --out "$DIR/1m.parquet" -q ;;
    score-5m-parquet) [ -f "$DIR/5m.parquet" ] || $B generate --rows 5000000 --seed 3 --no-outcome --out "$DIR/5m.parquet" -q ;;
    score-5m-csv) [ -f "$DIR/5m.csv" ] || $B generate --rows 5000000 --seed 3 --no-outcome --out "$DIR/5m.csv" -q ;;
    nightly-5m-parquet)
      [ -f "$DIR/5m.parquet" ] || $B generate --rows 5000000 --seed 3 --no-outcome --out "$DIR/5m.parquet" -q
      # The shipped config's settings, on the 5M snapshot; each rep reruns the same night.
      sed -e "s|^snapshot = .*|snapshot = \"$DIR/5m.parquet\"|" -e "s|^dir = .*|dir = \"$PWD/models/default\"|" \
          -e "s|^store = .*|store = \"$DIR/state/history.sqlite\"|" -e "s|^root = .*|root = \"$DIR/nightly\"|" \
          safeflag.toml > "$DIR/nightly.toml" ;;
    train-1m-*) [ -f "$DIR/train1m.parquet" ] || $B generate --rows 1000000 --snapshots 10 --first-date 2021-01-01 --seed 101 --out "$DIR/train1m.parquet" -q ;;
  esac
  times=(); mem=0
  for _ in $(seq "$REPS"); do
    /usr/bin/time -o "$DIR/.time" -f "%e %M" $cmd >/dev/null 2>&1
    out=$(tail -1 "$DIR/.time")
    times+=("${out% *}")
    m=${out#* }; [ "$m" -gt "$mem" ] && mem=$m
  done
  sorted=$(printf '%s\n' "${times[@]}" | sort -g)
  median=$(echo "$sorted" | awk -v n="$REPS" 'NR==int((n+1)/2)')
  echo "| $name | ${target:--} | $median | $(echo "$sorted" | head -1) | $(echo "$sorted" | tail -1) | $((mem / 1024)) |"
done
