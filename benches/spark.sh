#!/usr/bin/env bash
# The model's Spark SQL run once on Spark in local mode, on a generated
# 1,000,000-row night, checked row by row against `safeflag score`'s
# scores.parquet (as benches/warehouse.sh does for DuckDB, SQLite and
# PostgreSQL). Installs what it needs if missing: a Java runtime (Debian's
# openjdk-17-jre-headless) and pyspark (pip). Not run in CI.
#
#   bash benches/spark.sh              # ROWS=1000000 MODEL=models/default
#
# Data goes to $BENCH_DIR (default /tmp/safeflag-warehouse-bench), shared
# with benches/warehouse.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
MODEL=$(cd "${MODEL:-models/default}" && pwd)
DIR=${BENCH_DIR:-/tmp/safeflag-warehouse-bench}
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
command -v java >/dev/null 2>&1 || $sudo_cmd apt-get install -y -q openjdk-17-jre-headless >/dev/null
python3 -c "import pyspark" 2>/dev/null \
  || python3 -m pip install -q --user pyspark 2>/dev/null \
  || python3 -m pip install -q --user --break-system-packages pyspark
cargo build --release -q -p safeflag-cli
B=$PWD/target/release/safeflag
CHECK=$PWD/benches/spark_check.py
mkdir -p "$DIR"
cd "$DIR"
[ -f night.csv ] || "$B" -q generate --rows "$ROWS" --no-outcome --seed 5 --out night.csv
rm -rf run
"$B" -q score night.csv --model "$MODEL" --out run >/dev/null
"$B" -q model sql "$MODEL" --dialect spark > q_spark.sql
"$B" -q model sql "$MODEL" --dialect spark --ddl > ddl_spark.sql
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; java: $(java -version 2>&1 | head -1)"
echo "model: $(sed -n 1p q_spark.sql | cut -d' ' -f4-5)"
echo
echo "| engine | rows | load s | query s | largest difference | bands differ | top 1,000 same order |"
echo "|---|---|---|---|---|---|---|"
python3 "$CHECK" night.csv run/scores.parquet ddl_spark.sql q_spark.sql
