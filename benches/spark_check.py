"""Runs the model's Spark SQL on Spark in local mode over a night's
snapshot and checks it against safeflag's scores.parquet for the same rows.
Used by benches/spark.sh.

    python3 benches/spark_check.py NIGHT.csv SCORES.parquet DDL.sql QUERY.sql
"""
import sys
import time

from pyspark.sql import SparkSession, functions as F

night, scores, ddl, query = sys.argv[1:5]
# The column list of the contract's CREATE TABLE, as a Spark schema string.
columns = [
    " ".join(line.strip().rstrip(",").split()[:2])
    for line in open(ddl).read().splitlines()[1:-1]
]
spark = (
    SparkSession.builder.master("local[*]")
    .appName("safeflag-sql-check")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.shuffle.partitions", "4")
    # A model of hundreds of trees is one expression too large for a Java
    # method (64 KB) once Spark fuses the whole stage into one; compiled
    # expression by expression, Spark falls back to interpreting the ones
    # too large. Logistic models are unaffected.
    .config("spark.sql.codegen.wholeStage", "false")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
t0 = time.perf_counter()
cases = spark.read.option("header", True).schema(", ".join(columns)).csv(night).cache()
rows = cases.count()
load = time.perf_counter() - t0
cases.createOrReplaceTempView("safeflag_cases")
t0 = time.perf_counter()
scored = spark.sql(open(query).read()).cache()
scored.count()
run = time.perf_counter() - t0
ref = spark.read.parquet(scores).select(
    "child_id", "snapshot_date", F.col("probability").alias("p"), F.col("band").alias("b"), "case_id"
)
j = scored.join(ref, ["child_id", "snapshot_date"])
agg = j.agg(
    F.count("*").alias("n"),
    F.max(F.abs(F.col("probability") - F.col("p"))).alias("worst"),
    F.sum(F.when(F.col("band") != F.col("b"), 1).otherwise(0)).alias("bands"),
).collect()[0]


def top(df, p):
    return [r.child_id for r in df.orderBy(F.col(p).desc(), "case_id", "child_id").limit(1000).collect()]


same = top(scored, "probability") == top(ref, "p")
print(
    f"| Spark {spark.version} (local[*]) | {agg['n']:,} of {rows:,} | {load:.2f} | {run:.2f} | {agg['worst']:.1e} | {agg['bands']} | {'yes' if same else 'NO'} |"
)
spark.stop()
