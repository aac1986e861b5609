"""Score a model on one fold: AUC, accuracy, sensitivity, specificity, loss.

The AUC is computed from ranks (the Mann-Whitney statistic, ties counted
half), so it needs no threshold. Accuracy, sensitivity (severe patients
flagged) and specificity (other patients not flagged) are taken at
--threshold: for triage a low threshold, trading specificity for
sensitivity, is usual. The ROC curve is written as one point per distinct
score, from (0, 0) to (1, 1).
"""
import argparse

import numpy as np

import artifacts
import train


def auc(y, s):
    """Probability that a random severe patient scores above a random other
    one, ties counted half."""
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        artifacts.fail("the fold needs both severe and other patients to compute an AUC")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_points(y, s):
    """(threshold, fpr, tpr) for every distinct score, highest first."""
    pos, neg = (y == 1).sum(), (y == 0).sum()
    points = [(float("inf"), 0.0, 0.0)]
    for t in np.unique(s)[::-1]:
        flagged = s >= t
        points.append((float(t), float((flagged & (y == 0)).sum() / neg), float((flagged & (y == 1)).sum() / pos)))
    return points


def evaluate(w, b, X, y, threshold):
    s = train.sigmoid(X @ w + b)
    flagged = s >= threshold
    tp = int((flagged & (y == 1)).sum())
    tn = int((~flagged & (y == 0)).sum())
    metrics = {
        "auc": auc(y, s),
        "accuracy": (tp + tn) / len(y),
        "sensitivity": tp / int((y == 1).sum()),
        "specificity": tn / int((y == 0).sum()),
        "loss": train.log_loss(y, s),
    }
    return {k: round(float(v), 6) for k, v in metrics.items()}, roc_points(y, s)


def write_roc(path, points):
    rows = [["inf" if t == float("inf") else artifacts.fmt(t), artifacts.fmt(f), artifacts.fmt(r)] for t, f, r in points]
    artifacts.write_csv(path, ["threshold", "fpr", "tpr"], rows)


def load_fold(path, features):
    d = artifacts.load_npz(path)
    if list(d["features"]) != list(features):
        artifacts.fail(f"{path} has features {list(d['features'])}, but the model was trained on {list(features)}")
    return d["X"], d["y"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="features of the fold to score (.npz)")
    ap.add_argument("--threshold", type=float, required=True)
    ap.add_argument("--out-metrics", required=True)
    ap.add_argument("--out-roc", required=True)
    a = ap.parse_args()
    w, b, features = train.load_model(a.model)
    X, y = load_fold(a.data, features)
    metrics, roc = evaluate(w, b, X, y, a.threshold)
    artifacts.write_json(a.out_metrics, metrics)
    write_roc(a.out_roc, roc)
    print(" ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items())))


if __name__ == "__main__":
    main()
