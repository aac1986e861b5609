"""Turn each patient's visits and X-ray into one row of features per fold.

Vitals are summarised over the patient's visits (mean and worst value of
each vital, the trend of spo2, and age). The X-ray is rescaled by its own
2nd and 98th percentiles, which removes differences in exposure, and
described inside a fixed region of interest over the lung fields by an
intensity histogram of --bins bins plus its mean, spread, 90th percentile
and the share of bright (opaque) pixels.

Every feature is then standardised to zero mean and unit variance with the
mean and standard deviation of the TRAINING patients only, and the same
numbers are applied to the validation and test patients: statistics taken
from all patients would leak the test set into training. The statistics are
written to stats.json, as serving will need them.
"""
import argparse
import os
from collections import defaultdict

import numpy as np

import artifacts

SIZE = 64
FOLDS = ("train", "val", "test")
VITALS = ["temperature", "spo2", "heart_rate", "resp_rate"]
# The worst value of a vital is its highest, except for oxygen saturation.
WORST = {"temperature": np.max, "spo2": np.min, "heart_rate": np.max, "resp_rate": np.max}


def lung_roi():
    """The region of interest: the two lung fields of an average patient,
    shrunk so that it stays inside the lungs as anatomy varies."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(float)
    left = ((yy - 29) / 16) ** 2 + ((xx - 20) / 7) ** 2 <= 1
    right = ((yy - 29) / 16) ** 2 + ((xx - 44) / 7) ** 2 <= 1
    heart = ((yy - 40) / 13) ** 2 + ((xx - 35) / 11) ** 2 <= 1
    return (left | right) & ~heart


def image_features(img, roi, bins):
    img = img.astype(np.float64)
    lo, hi = np.percentile(img, [2, 98])
    norm = np.clip((img - lo) / max(hi - lo, 1.0), 0.0, 1.0)
    lung = norm[roi]
    hist, _ = np.histogram(lung, bins=bins, range=(0.0, 1.0))
    stats = [lung.mean(), lung.std(), np.percentile(lung, 90), (lung > 0.6).mean()]
    return np.concatenate([hist / lung.size, stats])


def image_feature_names(bins):
    return [f"xray_hist_{i:02d}" for i in range(bins)] + ["xray_mean", "xray_std", "xray_p90", "xray_opaque"]


def vitals_features(visits):
    """visits: the patient's rows in time order, as dicts of floats."""
    out = []
    for v in VITALS:
        xs = np.array([r[v] for r in visits])
        out += [xs.mean(), WORST[v](xs)]
    out.append(visits[-1]["spo2"] - visits[0]["spo2"])
    out.append(visits[0]["age"])
    return out


def vitals_feature_names():
    names = []
    for v in VITALS:
        names += [v + "_mean", v + "_worst"]
    return names + ["spo2_trend", "age"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vitals", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--xrays", required=True)
    ap.add_argument("--split", required=True)
    ap.add_argument("--bins", type=int, required=True)
    ap.add_argument("--out-train", required=True, help="training features to write (.npz)")
    ap.add_argument("--out-val", required=True, help="validation features to write (.npz)")
    ap.add_argument("--out-test", required=True, help="test features to write (.npz)")
    ap.add_argument("--out-stats", required=True, help="standardisation statistics to write (.json)")
    a = ap.parse_args()
    if not 2 <= a.bins <= 64:
        artifacts.fail(f"--bins is {a.bins}; want 2 to 64")

    header, rows = artifacts.read_csv(a.vitals)
    col = {name: i for i, name in enumerate(header)}
    visits = defaultdict(list)
    for r in rows:  # ingest wrote them sorted by patient and time
        visits[r[col["patient_id"]]].append({k: float(r[col[k]]) for k in VITALS + ["age"]})
    labels = dict(artifacts.read_csv(a.labels)[1])
    fold = dict(artifacts.read_csv(a.split)[1])

    members = {f: sorted(p for p, g in fold.items() if g == f) for f in FOLDS}
    for i, f in enumerate(FOLDS):
        for g in FOLDS[i + 1:]:
            assert not set(members[f]) & set(members[g]), f"a patient is in both {f} and {g}"

    roi = lung_roi()
    names = vitals_feature_names() + image_feature_names(a.bins)
    raw = {}
    for f in FOLDS:
        raw[f] = np.array([
            vitals_features(visits[p]) + list(image_features(artifacts.read_pgm(os.path.join(a.xrays, p + ".pgm")), roi, a.bins))
            for p in members[f]
        ])

    mean = raw["train"].mean(axis=0)
    std = raw["train"].std(axis=0)
    std[std == 0] = 1.0  # a constant feature stays constant (zero)

    out = {"train": a.out_train, "val": a.out_val, "test": a.out_test}
    for f in FOLDS:
        artifacts.save_npz(
            out[f],
            X=(raw[f] - mean) / std,
            y=np.array([int(labels[p]) for p in members[f]], dtype=np.int64),
            patient_id=np.array(members[f]),
            features=np.array(names),
        )
    artifacts.write_json(a.out_stats, {
        n: {"mean": round(float(m), 6), "std": round(float(s), 6)} for n, m, s in zip(names, mean, std)
    })
    print(f"{len(names)} features; " + ", ".join(f"{f}: {len(members[f])} patients" for f in FOLDS))


if __name__ == "__main__":
    main()
