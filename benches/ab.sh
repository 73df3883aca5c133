#!/usr/bin/env bash
# A/B of two safeflag builds on the same inputs: interleaved runs (the order
# alternates each rep, so a slow phase of the machine hits both), the median
# of each, and a file-by-file comparison of what each published.
#
#   bash benches/ab.sh OLD_BIN NEW_BIN [REPS] [CASES...]
#   cases: sample-night (the shipped samples and config), score-5m, night-5m,
#          score-5m-csv
#
# Compared byte for byte: the queue, score files, quarantine, suppressed cases
# and every export file; report.json and report.html after the run id and
# directory are blanked; the history's runs, flags and suppressions without
# run ids and start times. Manifests differ by design (run ids, timings, and
# their schema) and are not compared. Data goes to $BENCH_DIR.
# AB_ONLY_OLD="scores.arrow" names files the old build writes and the new one
# no longer does (decision 64); they are listed, not compared.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$(realpath "$1"); NEW=$(realpath "$2"); REPS=${3:-3}; shift 3 || shift $#
CASES=("$@"); [ ${#CASES[@]} -gt 0 ] || CASES=(sample-night score-5m night-5m)
DIR=${BENCH_DIR:-/tmp/safeflag-bench}
mkdir -p "$DIR"
REPO=$PWD
[ -f "$DIR/5m.parquet" ] || "$NEW" generate --rows 5000000 --seed 3 --no-outcome --out "$DIR/5m.parquet" -q
if [[ " ${CASES[*]} " =~ " score-5m-csv " ]] && [ ! -f "$DIR/5m.csv" ]; then
  "$NEW" generate --rows 5000000 --seed 3 --no-outcome --out "$DIR/5m.csv" -q
fi

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date: $(date -u +%Y-%m-%d), commit: $(git rev-parse --short HEAD 2>/dev/null || echo none), reps: $REPS"
echo "old: $OLD"; echo "new: $NEW"; echo

# A config for the night in $1 over snapshot $2.
night_config() {
  sed -e "s|^snapshot = .*|snapshot = \"$2\"|" -e "s|^dir = .*|dir = \"$REPO/models/default\"|" \
      -e "s|^store = .*|store = \"$1/state/history.sqlite\"|" -e "s|^root = .*|root = \"$1/out\"|" \
      "$REPO/safeflag.toml" > "$1/safeflag.toml"
}

# Runs case $1 with binary $2 into workspace $3; prints wall seconds.
run_case() {
  local name=$1 bin=$2 ws=$3
  mkdir -p "$ws"
  case $name in
    sample-night) night_config "$ws" "$REPO/data-samples/snapshot.csv"; set -- "$bin" nightly --config "$ws/safeflag.toml" -q ;;
    night-5m) night_config "$ws" "$DIR/5m.parquet"; set -- "$bin" nightly --config "$ws/safeflag.toml" -q ;;
    score-5m) set -- "$bin" score "$DIR/5m.parquet" --model "$REPO/models/default" --out "$ws/run" -q ;;
    score-5m-csv) set -- "$bin" score "$DIR/5m.csv" --model "$REPO/models/default" --out "$ws/run" -q ;;
  esac
  /usr/bin/time -o "$ws/.time" -f "%e %M" "$@" >/dev/null 2>"$ws/.stderr" || { cat "$ws/.stderr" >&2; exit 1; }
  tail -1 "$ws/.time"
}

# The run directory a case published in workspace $2.
published() {
  case $1 in
    score-5m|score-5m-csv) echo "$2/run" ;;
    *) ls -d "$2"/out/runs/* | tail -1 ;;
  esac
}

compare() {
  local name=$1 a=$2 b=$3
  python3 - "$name" "$(published "$name" "$a")" "$(published "$name" "$b")" "$a" "$b" <<'PY'
import os, re, sqlite3, sys
name, ra, rb, wa, wb = sys.argv[1:]
# Export files gained an 8-hex hash of the recipient's name (decisions #35):
# compare them under the name without it.
HASHED = re.compile(r"-[0-9a-f]{8}(\.(?:xlsx|csv))")
def files(root):
    out = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            p = os.path.relpath(os.path.join(d, f), root)
            if not p.endswith("manifest.json") or "export-manifest" in p:
                out[HASHED.sub(r"\1", p)] = p
    return out
def blank(text, run):
    text = re.sub(rb"\d{8}T\d{6}Z-\d+(-\d+)?", b"RUN_ID", text)
    text = re.sub(rb"-[0-9a-f]{8}(\.(?:xlsx|csv))", rb"\1", text)
    return text.replace(run.encode(), b"RUN_DIR")
fa, fb = files(ra), files(rb)
for f in os.environ.get("AB_ONLY_OLD", "").split():
    if f in fa and f not in fb:
        print(f"  only in the old run (AB_ONLY_OLD): {f}")
        del fa[f]
assert fa.keys() == fb.keys(), f"{name}: different files: {set(fa) ^ set(fb)}"
same = diff = 0
for f in sorted(fa):
    x, y = open(os.path.join(ra, fa[f]), "rb").read(), open(os.path.join(rb, fb[f]), "rb").read()
    if f.startswith("report.") or f.endswith("export-manifest.json"):
        x, y = blank(x, ra), blank(y, rb)
    if x == y:
        same += 1
    else:
        diff += 1
        print(f"  DIFFERENT: {f}")
hist = ""
sa, sb = os.path.join(wa, "state/history.sqlite"), os.path.join(wb, "state/history.sqlite")
if os.path.exists(sa):
    def dump(p):
        c = sqlite3.connect(p)
        cols = lambda t: [r[1] for r in c.execute(f"PRAGMA table_info({t})") if r[1] not in ("run_id", "started_unix", "out_dir")]
        return {t: sorted(map(repr, c.execute(f"SELECT {','.join(cols(t))} FROM {t}"))) for t in ("runs", "flags", "suppressions", "reviews")}
    da, db = dump(sa), dump(sb)
    hist = "; history " + ("identical" if da == db else "DIFFERENT: " + ", ".join(t for t in da if da[t] != db[t]))
print(f"  {name}: {same} files identical, {diff} different{hist}")
PY
}

for name in "${CASES[@]}"; do
  old_t=(); new_t=(); old_m=0; new_m=0
  for rep in $(seq "$REPS"); do
    order=(old new); [ $((rep % 2)) -eq 0 ] && order=(new old)
    for who in "${order[@]}"; do
      bin=$OLD; [ "$who" = new ] && bin=$NEW
      r=$(run_case "$name" "$bin" "$DIR/ab-$name-$who")
      if [ "$who" = old ]; then old_t+=("${r% *}"); [ "${r#* }" -gt "$old_m" ] && old_m=${r#* }
      else new_t+=("${r% *}"); [ "${r#* }" -gt "$new_m" ] && new_m=${r#* }; fi
    done
  done
  med() { printf '%s\n' "$@" | sort -g | awk -v n=$# 'NR==int((n+1)/2)'; }
  echo "| $name | old median $(med "${old_t[@]}") s ($(printf '%s ' "${old_t[@]}")), peak $((old_m / 1024)) MiB | new median $(med "${new_t[@]}") s ($(printf '%s ' "${new_t[@]}")), peak $((new_m / 1024)) MiB |"
  compare "$name" "$DIR/ab-$name-old" "$DIR/ab-$name-new"
done
