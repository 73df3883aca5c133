#!/usr/bin/env bash
# The model as SQL on a generated 1,000,000-row night, in DuckDB, SQLite and
# PostgreSQL, each checked row by row against `safeflag score`'s
# scores.parquet for the same rows (largest probability difference, bands
# that differ, the top 1,000 in the same order), beside `safeflag score`'s
# own wall time on the same file. Needs python3 with duckdb (pip install
# duckdb) and PostgreSQL's server binaries (apt install postgresql).
#
#   bash benches/warehouse.sh                # ROWS=1000000 MODEL=models/default
#
# Data goes to $BENCH_DIR (default /tmp/safeflag-warehouse-bench), never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
MODEL=${MODEL:-models/default}
REPS=${REPS:-3}
DIR=${BENCH_DIR:-/tmp/safeflag-warehouse-bench}
cargo build --release -q -p safeflag-cli
B=$PWD/target/release/safeflag
CHECK=$PWD/benches/warehouse_check.py
MODEL=$(cd "$MODEL" && pwd)
mkdir -p "$DIR"
cd "$DIR"
[ -f night.csv ] || "$B" -q generate --rows "$ROWS" --no-outcome --seed 5 --out night.csv
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date: $(date -u +%Y-%m-%d), commit: $(git -C "$OLDPWD" rev-parse --short HEAD 2>/dev/null || echo none), model: $("$B" -q model sql "$MODEL" --dialect duckdb | sed -n 1p | cut -d' ' -f4-5)"
echo
echo "safeflag score (read, validate, score, queue, write), $REPS runs:"
echo "| run | median wall s | min s | max s | peak RSS MiB | x the first |"
echo "|---|---|---|---|---|---|"
FLOOR=""
BEFORE_EACH='rm -rf run'
. "$OLDPWD/benches/rows.sh"
row "safeflag score night.csv" "$B" -q score night.csv --model "$MODEL" --out run
"$B" -q score night.csv --model "$MODEL" --out run >/dev/null
echo
echo "| engine | rows | load s | query s | largest difference | bands differ | top 1,000 same order |"
echo "|---|---|---|---|---|---|---|"
for e in duckdb sqlite; do
  "$B" -q model sql "$MODEL" --dialect "$e" > "q_$e.sql"
  "$B" -q model sql "$MODEL" --dialect "$e" --ddl > "ddl_$e.sql"
  python3 "$CHECK" "$e" night.csv run/scores.parquet "ddl_$e.sql" "q_$e.sql"
done

# PostgreSQL: a server of our own on a local socket in $DIR/pg (as the
# postgres user when run as root, which PostgreSQL refuses), stopped at exit.
BIN=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
PG=$DIR/pg; rm -rf "$PG"; mkdir -p "$PG"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$PG"; as_pg=(runuser -u postgres --); fi
"${as_pg[@]}" "$BIN/initdb" -D "$PG/data" -A trust -U postgres --no-sync >/dev/null
"${as_pg[@]}" "$BIN/pg_ctl" -D "$PG/data" -o "-k $PG -p 54330 -c listen_addresses= -c fsync=off" -w -l "$PG/log" start >/dev/null
trap '"${as_pg[@]}" "$BIN/pg_ctl" -D "$PG/data" -m fast -w stop >/dev/null' EXIT
python3 -c "import duckdb; duckdb.sql(\"COPY (SELECT child_id, snapshot_date, probability, band, case_id FROM read_parquet('run/scores.parquet')) TO 'scores.csv' (HEADER)\")"
"$B" -q model sql "$MODEL" --dialect postgres > q_postgres.sql
{
  "$B" -q model sql "$MODEL" --dialect postgres --ddl
  echo "\\copy safeflag_cases ($(head -1 night.csv)) FROM 'night.csv' CSV HEADER"
  echo "CREATE TABLE safeflag_night (child_id TEXT, snapshot_date DATE, probability DOUBLE PRECISION, band INT, case_id TEXT);"
  echo "\\copy safeflag_night FROM 'scores.csv' CSV HEADER"
  echo "ANALYZE;"
  echo "\\timing on"
  echo "CREATE TABLE scored AS"
  cat q_postgres.sql
  echo ";"
  echo "\\timing off"
  cat <<'SQL'
SELECT COUNT(*) AS rows,
       MAX(ABS(v.probability - n.probability)) AS largest_difference,
       SUM(CASE WHEN v.band <> n.band THEN 1 ELSE 0 END) AS bands_differ
FROM scored v JOIN safeflag_night n
  ON n.child_id = v.child_id AND n.snapshot_date = v.snapshot_date;
SELECT (SELECT array_agg(child_id::text) FROM (SELECT child_id FROM scored ORDER BY probability DESC, case_id, child_id LIMIT 1000) a)
     = (SELECT array_agg(child_id::text) FROM (SELECT child_id FROM safeflag_night ORDER BY probability DESC, case_id, child_id LIMIT 1000) b)
       AS top_1000_same_order;
SQL
} > pg.sql
"$BIN/psql" -h "$PG" -p 54330 -U postgres -v ON_ERROR_STOP=1 -q -f pg.sql
