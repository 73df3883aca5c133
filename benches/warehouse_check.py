"""Runs the model's SQL in an engine on a night's snapshot and checks it
against safeflag's own scores.parquet for the same rows: the largest
probability difference, the rows whose band differs, and whether the top
1,000 (by probability, then case_id, child_id) come in the same order.
Prints one Markdown table row. Used by benches/warehouse.sh.

    python3 benches/warehouse_check.py duckdb|sqlite NIGHT.csv SCORES.parquet DDL.sql QUERY.sql
"""
import csv
import sys
import time

import duckdb

engine, night, scores, ddl, query = sys.argv[1:6]
ddl, query = open(ddl).read(), open(query).read()

# safeflag's own scores, read with DuckDB (it reads Parquet).
ref = {
    (c, str(d)): (p, b)
    for c, d, p, b in duckdb.sql(
        f"SELECT child_id, snapshot_date, probability, band FROM read_parquet('{scores}')"
    ).fetchall()
}


def top(rows):
    """The first 1,000 children by probability, then case and child."""
    rows = sorted(rows, key=lambda r: (-r[3], r[2], r[0]))
    return [r[0] for r in rows[:1000]]


if engine == "duckdb":
    con = duckdb.connect()
    con.execute(ddl)
    t0 = time.perf_counter()
    con.execute(f"INSERT INTO safeflag_cases BY NAME SELECT * FROM read_csv('{night}', header = true)")
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    con.execute("CREATE TABLE scored AS " + query)
    run = time.perf_counter() - t0
    out = con.execute("SELECT child_id, CAST(snapshot_date AS VARCHAR), case_id, probability, band FROM scored").fetchall()
elif engine == "sqlite":
    import sqlite3

    con = sqlite3.connect(":memory:")
    con.executescript(ddl)
    t0 = time.perf_counter()
    with open(night, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        kinds = {}
        for line in ddl.splitlines()[1:-1]:
            name, ty = line.strip().rstrip(",").split()[:2]
            kinds[name] = ty

        def value(name, v):
            if v == "":
                return None
            if kinds[name] == "INTEGER":  # booleans, as 0/1
                return 1 if v == "true" else 0
            if kinds[name] == "BIGINT":
                return int(v)
            return v

        rows = ([value(n, v) for n, v in zip(header, row)] for row in r)
        con.executemany(
            f"INSERT INTO safeflag_cases ({', '.join(header)}) VALUES ({', '.join('?' * len(header))})",
            rows,
        )
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = con.execute(
        "SELECT child_id, snapshot_date, case_id, probability, band FROM (" + query + ")"
    ).fetchall()
    run = time.perf_counter() - t0
else:
    sys.exit(f"unknown engine {engine}")

worst = max(abs(p - ref[(c, d[:10])][0]) for c, d, _, p, _ in out)
bands = sum(1 for c, d, _, _, b in out if b != ref[(c, d[:10])][1])
ref_rows = [(c, d, None, p) for (c, d), (p, _) in ref.items()]
# The reference rows need their case for the tie-break: take it from the engine's rows.
case_of = {(c, d[:10]): k for c, d, k, _, _ in out}
ref_rows = [(c, d, case_of[(c, d)], p) for c, d, _, p in ref_rows]
same = top([(c, d, k, p) for c, d, k, p, _ in out]) == top(ref_rows)
print(
    f"| {engine} | {len(out):,} of {len(ref):,} | {load:.2f} | {run:.2f} | {worst:.1e} | {bands} | {'yes' if same else 'NO'} |"
)
