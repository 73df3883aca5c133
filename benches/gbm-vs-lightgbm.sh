#!/usr/bin/env bash
# safeflag's gradient boosting beside LightGBM, trained on the same rows in
# the same run: a generated stack of 1,000,000 rows over 4 snapshot dates,
# training on the first three (750,000 rows), 300 trees of depth 4, learning
# rate 0.1, 2 threads; safeflag on its features for trees (`--features raw`:
# the numbers as numbers beside the codes, as LightGBM gets them; one fit).
# safeflag's time is its `fit+calibrate` stage;
# LightGBM's is its Dataset construction and training. LightGBM, pandas and
# pyarrow are installed with pip when missing (a benchmark may; nothing at
# run time does).
#
#   [REPS=3] bash benches/gbm-vs-lightgbm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${BENCH_DIR:-/tmp/safeflag-gbm-bench}
mkdir -p "$DIR"
cargo build --release -q -p safeflag-cli
B=$PWD/target/release/safeflag
python3 -c 'import lightgbm, pandas, pyarrow' 2>/dev/null || pip install -q lightgbm pandas pyarrow
[ -f "$DIR/stack.parquet" ] || "$B" generate --rows 1000000 --seed 9 --snapshots 4 --out "$DIR/stack.parquet" -q
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date: $(date -u +%Y-%m-%d), commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)"
for rep in $(seq "${REPS:-3}"); do
  rm -rf "$DIR/gbm"
  "$B" train "$DIR/stack.parquet" --model gbm --features raw --out "$DIR/gbm" --json -q \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); s={x["stage"]:x["seconds"] for x in d["seconds"]}; print("safeflag gbm fit+calibrate %.2f s" % s["fit+calibrate"])'
  python3 - "$DIR/stack.parquet" <<'PY'
import sys, time
import lightgbm as lgb
import pandas as pd
df = pd.read_parquet(sys.argv[1])
y = df["outcome_critical_incident"].astype(bool).values
X = pd.DataFrame({"age_days": (pd.to_datetime(df["snapshot_date"]) - pd.to_datetime(df["child_birth_date"])).dt.days})
for c in ["case_type", "child_sex", "sleep_environment", "parental_mental_health", "parental_substance_use"]:
    X[c] = df[c].astype("category")
for c in ["child_disability", "domestic_violence", "unrelated_adult_in_home"]:
    X[c] = df[c].astype("float")
for c in ["caregiver_age", "prior_reports", "prior_substantiations", "prior_removals", "days_since_last_visit", "children_in_home"]:
    X[c] = pd.to_numeric(df[c], errors="coerce")
train = (df["snapshot_date"] < sorted(df["snapshot_date"].unique())[-1]).values
t = time.time()
ds = lgb.Dataset(X[train], label=y[train])
lgb.train({"objective": "binary", "max_depth": 4, "num_leaves": 16, "learning_rate": 0.1,
           "num_threads": 2, "verbose": -1}, ds, num_boost_round=300)
print(f"lightgbm fit {time.time() - t:.2f} s on {train.sum()} rows")
PY
done
