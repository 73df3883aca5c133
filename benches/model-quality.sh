#!/usr/bin/env bash
# Model quality on a generated world, against the world's own truth and
# against LightGBM trained on the same rows (issue 17).
#
# Training: 1,000,000 rows over 4 quarterly snapshots (seed 9, from
# 2024-01-01). Test: 500,000 rows of other families (seed 10) on 2 later
# dates (from 2025-01-01), with each row's true probability. On the test
# rows: safeflag's default model (logistic, on the feature set `train`
# chooses by held-out Brier score: standard or shaped), the
# logistic model on the standard features, safeflag's boosted trees, and
# LightGBM on the raw contract columns (age in days, counts, codes as
# categories; 10% of the training cases held out for early stopping, up to
# 2,000 rounds), each set beside the truth's ROC AUC on the same rows.
# LightGBM, pandas and pyarrow are installed with pip when missing (a
# benchmark may; nothing at run time does).
#
#   bash benches/model-quality.sh [banded|curved]
set -euo pipefail
cd "$(dirname "$0")/.."
WORLD=${1:-curved}
DIR=${BENCH_DIR:-/tmp/safeflag-quality-$WORLD}
mkdir -p "$DIR"
cargo build --release -q -p safeflag-cli
B=$PWD/target/release/safeflag
python3 -c 'import lightgbm, pandas, pyarrow' 2>/dev/null || pip install -q lightgbm pandas pyarrow
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date: $(date -u +%Y-%m-%d), commit: $(git rev-parse --short HEAD 2>/dev/null || echo none), world: $WORLD"
"$B" generate --world "$WORLD" --rows 1000000 --snapshots 4 --seed 9 --first-date 2024-01-01 --out "$DIR/train.parquet" -q
"$B" generate --world "$WORLD" --rows 500000 --snapshots 2 --seed 10 --first-date 2025-01-01 \
  --out "$DIR/test.parquet" --truth "$DIR/truth.parquet" -q
for m in "default:" "standard:--features standard" "gbm:--model gbm --gbm-early-stopping 20 --gbm-trees 1000"; do
  name=${m%%:*}
  # shellcheck disable=SC2086
  "$B" train "$DIR/train.parquet" --out "$DIR/$name" --force --synthetic -q ${m#*:} > /dev/null
  "$B" evaluate "$DIR/test.parquet" --model "$DIR/$name" --truth "$DIR/truth.parquet" --json > "$DIR/$name.json"
done
python3 - "$DIR" <<'PY'
import json, sys, time
import numpy as np
import pandas as pd
import lightgbm as lgb

d = sys.argv[1]

def auc(score, y):
    # Mann-Whitney with ties given half credit.
    r = pd.Series(score).rank(method="average").values
    pos = y.sum()
    return (r[y].sum() - pos * (pos + 1) / 2) / (pos * (len(y) - pos))

def raw(df):
    X = pd.DataFrame({"age_days": (pd.to_datetime(df["snapshot_date"]) - pd.to_datetime(df["child_birth_date"])).dt.days})
    for c in ["case_type", "sleep_environment", "parental_mental_health", "parental_substance_use"]:
        X[c] = pd.Categorical(df[c], categories=sorted(df[c].dropna().unique()))
    for c in ["child_disability", "domestic_violence", "unrelated_adult_in_home"]:
        X[c] = df[c].astype("float")
    for c in ["caregiver_age", "prior_reports", "prior_substantiations", "prior_removals",
              "days_since_last_visit", "children_in_home"]:
        X[c] = pd.to_numeric(df[c], errors="coerce")
    return X

train = pd.read_parquet(f"{d}/train.parquet")
test = pd.read_parquet(f"{d}/test.parquet")
truth = pd.read_parquet(f"{d}/truth.parquet")
assert (truth["child_id"].values == test["child_id"].values).all()
y = test["outcome_critical_incident"].astype(bool).values
Xtr, ytr = raw(train), train["outcome_critical_incident"].astype(bool).values
Xte = raw(test)
for c in ["case_type", "sleep_environment", "parental_mental_health", "parental_substance_use"]:
    Xte[c] = pd.Categorical(test[c], categories=Xtr[c].cat.categories)
# Early stopping on a tenth of the training cases (whole cases).
held = (pd.util.hash_pandas_object(train["case_id"], index=False).values % 10) == 0
t = time.time()
ds = lgb.Dataset(Xtr[~held], label=ytr[~held])
dv = lgb.Dataset(Xtr[held], label=ytr[held], reference=ds)
booster = lgb.train({"objective": "binary", "learning_rate": 0.05, "num_leaves": 31,
                     "min_data_in_leaf": 200, "num_threads": 2, "verbose": -1, "seed": 1},
                    ds, num_boost_round=2000, valid_sets=[dv],
                    callbacks=[lgb.early_stopping(50, verbose=False)])
fit = time.time() - t
p_lgb = booster.predict(Xte, num_iteration=booster.best_iteration)
truth_auc = auc(truth["true_probability"].values, y)
print(f"test rows {len(y)}, incidents {y.sum()} ({y.mean():.2%})")
print(f"{'model':<44} {'ROC AUC':>8} {'gap to truth':>13}")
print(f"{'truth (the world s own probabilities)':<44} {truth_auc:8.5f} {'-':>13}")
chosen = lambda m: json.load(open(f"{d}/{m}/model.json"))["content"]["params"]["features"]
for name, label in [("default", f"safeflag default (logistic, {chosen('default')} chosen)"),
                    ("standard", "safeflag logistic, standard features"),
                    ("gbm", f"safeflag boosted trees ({chosen('gbm')} chosen)")]:
    e = json.load(open(f"{d}/{name}.json"))
    a = e["evaluation"]["roc_auc"]
    worst = max(abs(g["ratio"] - 1) for g in e["against_truth"] if g["judged"])
    off = [g["group"] for g in e["against_truth"] if g["judged"] and not g["within"]]
    print(f"{label:<44} {a:8.5f} {truth_auc - a:13.5f}   calibration: worst group {worst:.1%} from the truth; off by >10%: {', '.join(off) or 'none'}")
a = auc(p_lgb, y)
print(f"{'LightGBM, raw columns (%d rounds, %.1f s)' % (booster.best_iteration, fit):<44} {a:8.5f} {truth_auc - a:13.5f}")
PY
