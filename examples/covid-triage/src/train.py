"""Fit an L2-regularised logistic regression by full-batch gradient descent.

Minimises the mean log-loss plus l2/2 * |w|^2 (the intercept is not
penalised), starting from zero weights, for a fixed number of epochs at a
fixed learning rate. There is no randomness, so the same data and
parameters give the same model, bit for bit.
"""
import argparse

import numpy as np

import artifacts


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def log_loss(y, p):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def fit(X, y, lr, epochs, l2):
    """Return the weights, the intercept and the final training loss."""
    n, d = X.shape
    w, b = np.zeros(d), 0.0
    y = y.astype(np.float64)
    for _ in range(epochs):
        p = sigmoid(X @ w + b)
        g = p - y
        w -= lr * (X.T @ g / n + l2 * w)
        b -= lr * float(g.mean())
    return w, b, log_loss(y, sigmoid(X @ w + b))


def save_model(path, w, b, features):
    artifacts.save_npz(path, w=w, b=np.array([b]), features=features)


def load_model(path):
    m = artifacts.load_npz(path)
    return m["w"], float(m["b"][0]), m["features"]


def check_params(lr, epochs, l2):
    if not lr > 0:
        artifacts.fail(f"learning rate {lr} must be positive")
    if epochs < 1:
        artifacts.fail(f"epochs {epochs} must be at least 1")
    if l2 < 0:
        artifacts.fail(f"l2 {l2} must not be negative")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True, help="training features (.npz)")
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--l2", type=float, required=True)
    ap.add_argument("--out", required=True, help="model to write (.npz)")
    a = ap.parse_args()
    check_params(a.lr, a.epochs, a.l2)
    d = artifacts.load_npz(a.train)
    w, b, loss = fit(d["X"], d["y"], a.lr, a.epochs, a.l2)
    save_model(a.out, w, b, d["features"])
    print(f"trained on {len(d['y'])} patients: training loss {loss:.4f}")


if __name__ == "__main__":
    main()
