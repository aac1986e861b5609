"""Validate the raw cohort and write canonical copies for the stages after.

Checks, reporting every problem found (up to a limit) rather than the first:

  * the vitals header is exactly the expected columns, in order;
  * every value parses as its column's type;
  * every vital is within its physiological range (spo2 in [50, 100], ...);
  * age is constant for a patient, and no patient has two rows with the
    same timestamp;
  * the row and patient counts are at least the minimums given;
  * labels are 0 or 1, one per patient, for exactly the patients with vitals;
  * every patient has a 64x64 8-bit PGM chest X-ray.

Any failure exits with status 1 and writes nothing, so no later stage runs
on bad data. On success the vitals are written sorted by patient and time,
with a summary of the cohort as metrics.
"""
import argparse
import datetime
import os
import re
import sys

import artifacts

VITALS_HEADER = ["patient_id", "timestamp", "temperature", "spo2", "heart_rate", "resp_rate", "age"]
LABELS_HEADER = ["patient_id", "severe"]
ID = re.compile(r"^P[0-9]{5}$")
IMAGE_SHAPE = (64, 64)

# Column: (parser, lowest plausible value, highest plausible value).
RANGES = {
    "temperature": (float, 30.0, 45.0),
    "spo2": (float, 50.0, 100.0),
    "heart_rate": (float, 20.0, 250.0),
    "resp_rate": (float, 4.0, 80.0),
    "age": (int, 0, 120),
}
MAX_REPORTED = 20


class Problems:
    """Collects validation failures and prints them all at the end."""

    def __init__(self):
        self.items = []

    def add(self, msg):
        self.items.append(msg)

    def exit_if_any(self):
        if not self.items:
            return
        for msg in self.items[:MAX_REPORTED]:
            print("invalid data: " + msg, file=sys.stderr)
        if len(self.items) > MAX_REPORTED:
            print(f"... and {len(self.items) - MAX_REPORTED} more problems", file=sys.stderr)
        raise SystemExit(f"error: validation failed with {len(self.items)} problem(s); nothing was written")


def parse_time(s):
    try:
        return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None


def check_vitals(path, problems):
    header, rows = artifacts.read_csv(path)
    if header != VITALS_HEADER:
        problems.add(f"{path}: header is {','.join(header)}; want {','.join(VITALS_HEADER)}")
        return {}, []
    col = {name: i for i, name in enumerate(header)}
    ages, seen, good = {}, set(), []
    for n, row in enumerate(rows, start=2):
        where = f"{path}:{n}"
        if len(row) != len(header):
            problems.add(f"{where}: {len(row)} fields, want {len(header)}")
            continue
        pid, ts = row[col["patient_id"]], row[col["timestamp"]]
        ok = True
        if not ID.match(pid):
            problems.add(f"{where}: patient_id {pid!r} is not of the form P00001")
            ok = False
        if parse_time(ts) is None:
            problems.add(f"{where}: timestamp {ts!r} is not of the form 2020-03-01T08:00:00Z")
            ok = False
        for name, (parse, lo, hi) in RANGES.items():
            raw = row[col[name]]
            try:
                v = parse(raw)
            except ValueError:
                problems.add(f"{where}: {name} {raw!r} is not {'an integer' if parse is int else 'a number'}")
                ok = False
                continue
            if not lo <= v <= hi:  # also rejects NaN
                problems.add(f"{where}: {name} {raw} is outside [{lo}, {hi}]")
                ok = False
        if not ok:
            continue
        if (pid, ts) in seen:
            problems.add(f"{where}: patient {pid} has two rows at {ts}")
        seen.add((pid, ts))
        age = row[col["age"]]
        if ages.setdefault(pid, age) != age:
            problems.add(f"{where}: patient {pid} has age {age} here and {ages[pid]} before")
        good.append(row)
    return ages, good


def check_labels(path, problems):
    header, rows = artifacts.read_csv(path)
    if header != LABELS_HEADER:
        problems.add(f"{path}: header is {','.join(header)}; want {','.join(LABELS_HEADER)}")
        return {}
    labels = {}
    for n, row in enumerate(rows, start=2):
        if len(row) != 2 or row[1] not in ("0", "1"):
            problems.add(f"{path}:{n}: want patient_id,severe with severe 0 or 1; got {','.join(row)}")
            continue
        if row[0] in labels:
            problems.add(f"{path}:{n}: patient {row[0]} is labelled twice")
        labels[row[0]] = row[1]
    return labels


def check_xrays(directory, patients, problems):
    for pid in sorted(patients):
        p = os.path.join(directory, pid + ".pgm")
        if not os.path.exists(p):
            problems.add(f"{p}: missing chest X-ray for patient {pid}")
            continue
        try:
            img = artifacts.read_pgm(p)
        except ValueError as e:
            problems.add(f"{p}: {e}")
            continue
        if img.shape != IMAGE_SHAPE:
            problems.add(f"{p}: image is {img.shape[1]}x{img.shape[0]}, want {IMAGE_SHAPE[1]}x{IMAGE_SHAPE[0]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vitals", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--xrays", required=True)
    ap.add_argument("--min-rows", type=int, required=True)
    ap.add_argument("--min-patients", type=int, required=True)
    ap.add_argument("--out-vitals", required=True)
    ap.add_argument("--out-labels", required=True)
    ap.add_argument("--out-summary", required=True)
    a = ap.parse_args()

    problems = Problems()
    ages, rows = check_vitals(a.vitals, problems)
    labels = check_labels(a.labels, problems)
    if ages and labels:
        for pid in sorted(set(ages) - set(labels)):
            problems.add(f"{a.labels}: no label for patient {pid}, who has vitals")
        for pid in sorted(set(labels) - set(ages)):
            problems.add(f"{a.vitals}: no vitals for patient {pid}, who has a label")
    check_xrays(a.xrays, labels, problems)
    if ages and len(rows) < a.min_rows:
        problems.add(f"{a.vitals}: {len(rows)} valid rows, want at least {a.min_rows}")
    if labels and len(labels) < a.min_patients:
        problems.add(f"{a.labels}: {len(labels)} patients, want at least {a.min_patients}")
    problems.exit_if_any()

    rows.sort(key=lambda r: (r[0], r[1]))
    artifacts.write_csv(a.out_vitals, VITALS_HEADER, rows)
    artifacts.write_csv(a.out_labels, LABELS_HEADER, [[p, labels[p]] for p in sorted(labels)])
    severe = sum(v == "1" for v in labels.values())
    artifacts.write_json(a.out_summary, {
        "patients": len(labels),
        "visits": len(rows),
        "severe": severe,
        "prevalence": round(severe / len(labels), 6),
    })
    print(f"validated {len(rows)} visits of {len(labels)} patients ({severe} severe) and their X-rays")


if __name__ == "__main__":
    main()
