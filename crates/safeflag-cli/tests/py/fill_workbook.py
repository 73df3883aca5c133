"""Fills a safeflag reviewer's workbook the way a reviewer would, with
openpyxl (a reader and writer that is not safeflag's), and reports what it
filled and what drop-downs and date checks it found, as JSON on stdout.

    python3 fill_workbook.py IN.xlsx OUT.xlsx CASES SEED [EDIT...]

CASES: how many review rows to fill (from the top). SEED: varies the
answers. EDIT: `sheet!cell=value` overrides applied last (to make a
workbook break one rule); `sheet!label:L=value` sets the cell beside the
row labelled L; a value `date:YYYY-MM-DD` is written as a date, an empty
one clears the cell.
"""
import datetime
import json
import sys

import openpyxl

src, dst, n_cases, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
edits = sys.argv[5:]
wb = openpyxl.load_workbook(src)

found = {}
for name in ("Review", "Actions"):
    ws = wb[name]
    kinds = {}
    for dv in ws.data_validations.dataValidation:
        kinds[dv.type] = kinds.get(dv.type, 0) + len(list(dv.sqref.ranges))
    found[name] = kinds

review = wb["Review"]
keys = {c.value: c.column for c in review[2] if c.value}
scale = ["Strength", "Area needing improvement"]
filled = {}
for i, row in enumerate(range(3, 3 + n_cases)):
    case = review.cell(row=row, column=keys["case_id"]).value
    if case is None:
        break
    answers = {"ratings": {}, "factors": {}}
    for key, col in keys.items():
        cell = review.cell(row=row, column=col)
        if key.startswith("item:"):
            if cell.value is None:
                cell.value = scale[(i + col + seed) % 2]
            answers["ratings"][key[5:]] = cell.value
        elif key.startswith("factor:"):
            cell.value = "Yes" if (i + col + seed) % 3 else "No"
            answers["factors"][key[7:]] = cell.value == "Yes"
    day = datetime.datetime(2025, 11, 24 + (i % 3))
    review.cell(row=row, column=keys["consultation_date"]).value = day
    review.cell(row=row, column=keys["consultation_attendees"]).value = "worker; supervisor"
    disposition = ["coached", "no_concerns", "escalated"][(i + seed) % 3]
    review.cell(row=row, column=keys["disposition"]).value = disposition
    review.cell(row=row, column=keys["reviewer"]).value = "R-%d" % (i % 2 + 1)
    review.cell(row=row, column=keys["review_date"]).value = day
    answers.update(
        disposition=disposition,
        reviewer="R-%d" % (i % 2 + 1),
        review_date=day.date().isoformat(),
        consultation_date=day.date().isoformat(),
    )
    answers["row"] = row
    filled[case] = answers

actions = wb["Actions"]
akeys = {c.value: c.column for c in actions[2] if c.value}
listed = list(filled)
acts = []
for j, case in enumerate(listed[:2]):
    row = 3 + j
    status = "done" if j == 0 else "open"
    values = {
        "case_id": case,
        "action": "Safe-sleep education at the next visit (%d)" % j,
        "owner": "W-%d" % j,
        "due_date": datetime.datetime(2025, 12, 1 + j),
        "status": status,
        "completed_on": datetime.datetime(2025, 11, 28) if status == "done" else None,
    }
    for k, v in values.items():
        actions.cell(row=row, column=akeys[k]).value = v
    acts.append({k: (v.date().isoformat() if isinstance(v, datetime.datetime) else v) for k, v in values.items()})

for e in edits:
    target, value = e.split("=", 1)
    sheet, ref = target.split("!")
    if ref.startswith("label:"):
        # The cell beside the row whose first cell is this label.
        label = ref[len("label:"):]
        ref = next("B%d" % c.row for c in wb[sheet]["A"] if c.value == label)
    if value.startswith("date:"):
        value = datetime.datetime.fromisoformat(value[5:])
    elif value == "":
        value = None
    wb[sheet][ref].value = value

wb.save(dst)
json.dump({"validations": found, "reviews": filled, "actions": acts, "keys": keys}, sys.stdout)
