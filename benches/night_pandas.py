"""The night as an analyst would script it with pandas and scikit-learn.

    python3 benches/night_pandas.py TRAIN.parquet NIGHT.parquet OUT_DIR

The peer that `benches/night.sh` sets beside `safeflag score`: read the
night's snapshot, check it against the contract's rules (required values,
codes, dates, ranges, duplicate keys; bad rows set aside), compute the same
kind of features as safeflag's standard set (age bands, sleep, caregiver
concerns, history, visit gap, missing indicators, the infant-by-sleep
interactions), score with a logistic regression, rank cases by their
highest-risk child, and write every row's score (Parquet) and the top 50
cases (CSV). The model is fitted on TRAIN before the clock starts, and
imports are not timed either, so the figure it prints (one JSON line:
seconds, rows read, valid, quarantined) is the script's best case.
"""

import json
import os
import sys
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

CASE_TYPES = ["investigation", "in_home", "out_of_home"]
SEXES = ["F", "M", "U"]
SLEEP = ["crib_bassinet", "adult_bed", "bed_sharing", "sofa_chair", "other_unsafe",
         "unknown", "not_assessed"]
UNSAFE = ["adult_bed", "bed_sharing", "sofa_chair", "other_unsafe"]
CONCERN = ["none", "history", "current"]
REQUIRED = ["case_id", "child_id", "snapshot_date", "office", "supervisor_id",
            "worker_id", "case_type", "child_birth_date"]
COUNTS = ["prior_reports", "prior_substantiations", "prior_removals",
          "children_in_home", "days_since_last_visit"]


def validate(df):
    """Rows that break a rule are set aside; returns (valid, quarantined count)."""
    bad = np.zeros(len(df), dtype=bool)
    for c in REQUIRED:
        v = df[c]
        bad |= v.isna().to_numpy()
        if v.dtype == object or pd.api.types.is_string_dtype(v):
            bad |= (v.astype(str).str.strip() == "").to_numpy()
    for c, codes in [("case_type", CASE_TYPES), ("child_sex", SEXES),
                     ("sleep_environment", SLEEP), ("parental_mental_health", CONCERN),
                     ("parental_substance_use", CONCERN)]:
        v = df[c]
        bad |= (v.notna() & ~v.isin(codes)).to_numpy()
    snap = pd.to_datetime(df["snapshot_date"], errors="coerce")
    birth = pd.to_datetime(df["child_birth_date"], errors="coerce")
    bad |= (snap.isna() | birth.isna() | (birth > snap)).to_numpy()
    age = pd.to_numeric(df["caregiver_age"], errors="coerce")
    bad |= (age.notna() & ((age < 10) | (age > 100))).to_numpy()
    for c in COUNTS:
        v = pd.to_numeric(df[c], errors="coerce")
        bad |= (v.notna() & (v < 0)).to_numpy()
    bad |= df.duplicated(["child_id", "snapshot_date"], keep=False).to_numpy()
    valid = df.loc[~bad].copy()
    valid["snapshot_date"] = snap[~bad]
    valid["child_birth_date"] = birth[~bad]
    return valid, int(bad.sum())


def features(df):
    """The standard feature set, vectorised."""
    days = (df["snapshot_date"] - df["child_birth_date"]).dt.days.to_numpy()
    sleep = df["sleep_environment"].to_numpy()
    f = {}
    f["age_under_6m"] = days < 183
    f["age_6_11m"] = (days >= 183) & (days < 365)
    f["age_1_2y"] = (days >= 365) & (days < 1096)
    f["sleep_unsafe"] = np.isin(sleep, UNSAFE)
    f["sleep_unassessed"] = np.isin(sleep, ["unknown", "not_assessed"])
    f["sleep_adult_bed_or_sharing"] = np.isin(sleep, ["adult_bed", "bed_sharing"])
    f["sleep_sofa_chair"] = sleep == "sofa_chair"
    f["sleep_other_unsafe"] = sleep == "other_unsafe"
    for band in ["age_under_6m", "age_6_11m"]:
        f[band + "_x_bed_sharing"] = f[band] & f["sleep_adult_bed_or_sharing"]
        f[band + "_x_sofa_chair"] = f[band] & f["sleep_sofa_chair"]
        f[band + "_x_other_unsafe"] = f[band] & f["sleep_other_unsafe"]
        f[band + "_x_sleep_unassessed"] = f[band] & f["sleep_unassessed"]
    case = df["case_type"].to_numpy()
    f["case_investigation"] = case == "investigation"
    f["case_out_of_home"] = case == "out_of_home"
    dis = df["child_disability"]
    f["disability"] = dis.fillna(False).astype(bool).to_numpy()
    f["disability_missing"] = dis.isna().to_numpy()
    age = pd.to_numeric(df["caregiver_age"], errors="coerce")
    f["young_caregiver"] = (age < 20).fillna(False).to_numpy()
    f["caregiver_age_missing"] = age.isna().to_numpy()
    for col, name in [("parental_mental_health", "mental_health"),
                      ("parental_substance_use", "substance_use")]:
        v = df[col].to_numpy()
        f[name + "_current"] = v == "current"
        f[name + "_history"] = v == "history"
    dv = df["domestic_violence"]
    f["domestic_violence"] = dv.fillna(False).astype(bool).to_numpy()
    f["household_not_assessed"] = dv.isna().to_numpy()
    ua = df["unrelated_adult_in_home"]
    f["unrelated_adult"] = ua.fillna(False).astype(bool).to_numpy()
    f["unrelated_adult_missing"] = ua.isna().to_numpy()
    rep = pd.to_numeric(df["prior_reports"], errors="coerce").fillna(0).to_numpy()
    f["any_prior_report"] = rep > 0
    f["log_prior_reports"] = np.log1p(np.minimum(rep, 50))
    for col, name in [("prior_substantiations", "prior_substantiation"),
                      ("prior_removals", "prior_removal")]:
        v = pd.to_numeric(df[col], errors="coerce")
        f["any_" + name] = (v > 0).fillna(False).to_numpy()
        f[col + "_missing"] = v.isna().to_numpy()
    gap = pd.to_numeric(df["days_since_last_visit"], errors="coerce")
    f["visit_gap"] = np.minimum(gap.fillna(0).to_numpy(), 365) / 30.0
    f["visit_gap_missing"] = gap.isna().to_numpy()
    kids = pd.to_numeric(df["children_in_home"], errors="coerce")
    f["children_in_home"] = np.minimum(kids.fillna(1).to_numpy(), 12)
    f["children_in_home_missing"] = kids.isna().to_numpy()
    return np.column_stack([np.asarray(v, dtype=np.float64) for v in f.values()])


def main():
    train_path, night_path, out = sys.argv[1:4]
    train, _ = validate(pd.read_parquet(train_path))
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(features(train), train["outcome_critical_incident"].astype(bool).to_numpy())

    t = time.perf_counter()
    if night_path.endswith(".csv"):
        raw = pd.read_csv(night_path, dtype=str, keep_default_na=False, na_values=[""])
    else:
        raw = pd.read_parquet(night_path)
    valid, quarantined = validate(raw)
    p = model.predict_proba(features(valid))[:, 1]
    scores = valid[["case_id", "child_id", "snapshot_date", "office", "supervisor_id",
                    "worker_id", "child_race_ethnicity"]].copy()
    scores["probability"] = p
    os.makedirs(out, exist_ok=True)
    scores.to_parquet(os.path.join(out, "scores.parquet"), compression="zstd", index=False)
    ranked = scores.sort_values(["probability", "case_id", "child_id"],
                                ascending=[False, True, True])
    queue = ranked.drop_duplicates("case_id").head(50)
    queue.to_csv(os.path.join(out, "queue.csv"), index=False)
    seconds = time.perf_counter() - t
    print(json.dumps({"seconds": round(seconds, 3), "rows_read": len(raw),
                      "rows_valid": len(valid), "rows_quarantined": quarantined}))


if __name__ == "__main__":
    main()
