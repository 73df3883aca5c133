#!/usr/bin/env bash
# The night beside its floor and its peer, interleaved (issue 18):
#   floor: polars alone reading the snapshot (`night-bench read`);
#   safeflag: `safeflag score` with the shipped default model;
#   peer: the pandas + scikit-learn script (benches/night_pandas.py; its own
#         timed section, imports and model fit excluded).
# Each rep runs every case once, in turn, so a slow phase of the machine hits
# all of them; medians of REPS. Peak memory is the largest of the reps.
#
#   bash benches/night.sh            # REPS=5
#   REPS=3 PEER=0 bash benches/night.sh   # without the pandas script
#
# Data is generated into $BENCH_DIR (default /tmp/safeflag-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-5}
PEER=${PEER:-1}
DIR=${BENCH_DIR:-/tmp/safeflag-bench}
mkdir -p "$DIR"
cargo build --release -q -p safeflag-cli -p safeflag-bench
B=$PWD/target/release/safeflag
F=$PWD/target/release/night-bench

if [ "$PEER" = 1 ] && ! python3 -c 'import pandas, pyarrow, sklearn' 2>/dev/null; then
  pip install -q pandas pyarrow scikit-learn >/dev/null 2>&1 || true
fi
if [ "$PEER" = 1 ] && ! python3 -c 'import pandas, pyarrow, sklearn' 2>/dev/null; then
  echo "pandas + scikit-learn not installable here: the peer is skipped" >&2
  PEER=0
fi

[ -f "$DIR/1m.parquet" ] || $B generate --rows 1000000 --seed 4 --no-outcome --out "$DIR/1m.parquet" -q
[ -f "$DIR/5m.parquet" ] || $B generate --rows 5000000 --seed 3 --no-outcome --out "$DIR/5m.parquet" -q
[ -f "$DIR/5m.csv" ] || $B generate --rows 5000000 --seed 3 --no-outcome --out "$DIR/5m.csv" -q

# name | command
cases=(
  "floor 5M parquet|$F read $DIR/5m.parquet"
  "safeflag 5M parquet|$B score $DIR/5m.parquet --model models/default --out $DIR/night5m -q"
  "floor 1M parquet|$F read $DIR/1m.parquet"
  "safeflag 1M parquet|$B score $DIR/1m.parquet --model models/default --out $DIR/night1m -q"
  "floor 5M csv|$F read $DIR/5m.csv"
  "safeflag 5M csv|$B score $DIR/5m.csv --model models/default --out $DIR/night5mcsv -q"
)
[ "$PEER" = 1 ] && cases+=("pandas 5M parquet|python3 benches/night_pandas.py data-samples/training.parquet $DIR/5m.parquet $DIR/pandas5m")

declare -A times mem decoded
for _ in $(seq "$REPS"); do
  for c in "${cases[@]}"; do
    name=${c%%|*}; cmd=${c#*|}
    out=$(/usr/bin/time -o "$DIR/.time" -f "%e %M" $cmd 2>/dev/null | tail -1)
    read -r wall peak < <(tail -1 "$DIR/.time")
    # The peer times itself (imports and model fit excluded).
    if [[ $name == pandas* ]]; then
      wall=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$out")
    fi
    [[ $name == floor* ]] && decoded[${name#floor }]=$(sed -n 's/.*decoded \([0-9]*\) MiB.*/\1/p' <<<"$out")
    times[$name]="${times[$name]:-} $wall"
    m=$((peak / 1024)); [ "$m" -gt "${mem[$name]:-0}" ] && mem[$name]=$m
  done
done

median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date: $(date -u +%Y-%m-%d), commit: $(git rev-parse --short HEAD 2>/dev/null || echo none), reps: $REPS, interleaved"
echo
echo "| case | median s | runs s | peak MiB |"
echo "|---|---|---|---|"
declare -A med
for c in "${cases[@]}"; do
  name=${c%%|*}
  med[$name]=$(median "${times[$name]}")
  echo "| $name | ${med[$name]} |${times[$name]} | ${mem[$name]} |"
done
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "| measure | value | target |"
echo "|---|---|---|"
echo "| 5M parquet: safeflag / polars read | $(ratio "${med[safeflag 5M parquet]}" "${med[floor 5M parquet]}")x | <= 2x |"
echo "| 5M csv: safeflag / polars CSV read | $(ratio "${med[safeflag 5M csv]}" "${med[floor 5M csv]}")x | <= 2x |"
[ "$PEER" = 1 ] && echo "| 5M parquet: pandas + scikit-learn / safeflag | $(ratio "${med[pandas 5M parquet]}" "${med[safeflag 5M parquet]}")x | >= 10x |"
echo "| 5M parquet: safeflag peak / decoded columns | ${mem[safeflag 5M parquet]} / ${decoded[5M parquet]} MiB | <= 1x |"
echo "| 1M -> 5M parquet: wall time ratio for 5x the rows | $(ratio "${med[safeflag 5M parquet]}" "${med[safeflag 1M parquet]}")x | at most 5.5x (linear within 10%) |"
