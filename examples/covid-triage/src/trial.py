"""One trial of the sweep: train on the training fold, score on validation.

Trials are compared, and the winner picked, on the validation fold; the test
fold is kept for the final evaluate stage, so the number reported there is
not inflated by the choice among trials.
"""
import argparse

import artifacts
import evaluate
import train


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--val", required=True)
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--l2", type=float, required=True)
    ap.add_argument("--threshold", type=float, required=True)
    ap.add_argument("--out-model", required=True)
    ap.add_argument("--out-metrics", required=True)
    ap.add_argument("--out-roc", required=True)
    a = ap.parse_args()
    train.check_params(a.lr, a.epochs, a.l2)
    d = artifacts.load_npz(a.train)
    w, b, _ = train.fit(d["X"], d["y"], a.lr, a.epochs, a.l2)
    train.save_model(a.out_model, w, b, d["features"])
    X, y = evaluate.load_fold(a.val, d["features"])
    metrics, roc = evaluate.evaluate(w, b, X, y, a.threshold)
    artifacts.write_json(a.out_metrics, metrics)
    evaluate.write_roc(a.out_roc, roc)
    print(f"lr={a.lr} l2={a.l2}: " + " ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items())))


if __name__ == "__main__":
    main()
