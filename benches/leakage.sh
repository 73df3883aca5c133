#!/usr/bin/env bash
# The leakage experiment: a model trained on a stack built with knowledge
# dates (as safeflag builds it), against the world's own truth on a later
# stack; and a model trained on the same dates built without knowledge dates
# (every fact counted from the day it happened, not the day it was recorded).
#
#   bash benches/leakage.sh            # CHILDREN=300000 YEARS=6 SEED=31 FUTURES=32
#
# Prints the ROC AUCs that docs/extract-contract.md quotes. Data goes to
# $BENCH_DIR (default /tmp/safeflag-leakage), never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${BENCH_DIR:-/tmp/safeflag-leakage}
CHILDREN=${CHILDREN:-300000}
YEARS=${YEARS:-6}
SEED=${SEED:-31}
cargo build --release -q -p safeflag-cli -p safeflag-bench
B=$PWD/target/release/safeflag
L=$PWD/target/release/leakage
rm -rf "$DIR" && mkdir -p "$DIR" && cd "$DIR"

"$B" generate --extract x --children "$CHILDREN" --years "$YEARS" --seed "$SEED" --truth hazards.parquet
# Train on quarterly dates whose label windows close a year before the test
# dates begin; test on the latest dates whose windows have closed.
"$L" stacks x . 2021-01-01 2022-06-30 2023-07-01 2024-09-30 91
"$L" truth hazards.parquet honest-test.parquet truth-honest-test.csv
"$L" truth hazards.parquet leaky-test.parquet truth-leaky-test.csv
"$L" truth-at-date hazards.parquet honest-test.parquet truth-at-date-honest-test.csv
# The ceiling over simulated futures: each family's reports drawn again from
# each test date, FUTURES times (the world's parameters as generated above).
FUTURES=${FUTURES:-32}
"$L" truth-fair "$CHILDREN" "$YEARS" "$SEED" "$(sed -n 's/^extracted-on = //p' x/extract.toml)" \
  "$FUTURES" honest-test.parquet truth-fair-honest-test.parquet

auc() { # MODEL STACK TRUTH
  "$B" evaluate "$2" --model "$1" --truth "$3" --json -q \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.4f %.4f" % (d["evaluation"]["roc_auc"], (d.get("ground_truth") or {}).get("roc_auc", float("nan"))))'
}
"$B" train honest-train.parquet --out honest --synthetic -q
"$B" train leaky-train.parquet --out leaky --synthetic -q
echo
echo "| model (trained on) | tested on | rows | model ROC AUC | truth ROC AUC (same rows) |"
echo "|---|---|---|---|---|"
for m in honest leaky; do
  for s in honest leaky; do
    rows=$(($(python3 -c "print(sum(1 for _ in open('truth-$s-test.csv')) - 1)")))
    read -r ma ta < <(auc "$m" "$s-test.parquet" "truth-$s-test.csv")
    echo "| $m | $s-test | $rows | $ma | $ta |"
  done
done
read -r ma ta < <(auc honest honest-test.parquet truth-at-date-honest-test.csv)
echo
echo "truth from the hazard on the date alone (the state frozen for the window), honest test: $ta (the honest model: $ma)"
read -r ma ta < <(auc honest honest-test.parquet truth-fair-honest-test.parquet)
echo "truth over $FUTURES simulated futures from each date, honest test: $ta (the honest model: $ma)"
