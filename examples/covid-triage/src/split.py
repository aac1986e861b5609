"""Assign each patient to the train, validation or test fold.

The split is by patient, never by row: a patient's visits all land in one
fold, so no model is scored on a patient it has seen. It is stratified by
outcome, so each fold has about the cohort's share of severe patients, and
drawn from a seeded generator, so the same seed gives the same folds.

Writes split.csv (patient_id,fold) and exits non-zero if any patient ends
up in two folds or in none.
"""
import argparse

import numpy as np

import artifacts

FOLDS = ("train", "val", "test")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--val", type=float, required=True, help="fraction of patients for validation")
    ap.add_argument("--test", type=float, required=True, help="fraction of patients for test")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if not (0 < a.val < 1 and 0 < a.test < 1 and a.val + a.test < 1):
        artifacts.fail(f"--val {a.val} and --test {a.test} must be fractions that leave patients to train on")

    _, rows = artifacts.read_csv(a.labels)
    rng = np.random.default_rng(a.seed)
    fold = {}
    for outcome in ("0", "1"):
        ids = sorted(pid for pid, y in rows if y == outcome)
        order = rng.permutation(len(ids))
        n_test = int(round(a.test * len(ids)))
        n_val = int(round(a.val * len(ids)))
        for rank, i in enumerate(order):
            fold[ids[i]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"

    members = {f: {p for p, g in fold.items() if g == f} for f in FOLDS}
    for i, f in enumerate(FOLDS):
        for g in FOLDS[i + 1:]:
            both = members[f] & members[g]
            assert not both, f"patients in both {f} and {g}: {sorted(both)[:5]}"
    assert sum(len(m) for m in members.values()) == len(rows), "a patient is in no fold"

    artifacts.write_csv(a.out, ["patient_id", "fold"], [[p, fold[p]] for p in sorted(fold)])
    print(", ".join(f"{f}: {len(members[f])} patients" for f in FOLDS))


if __name__ == "__main__":
    main()
