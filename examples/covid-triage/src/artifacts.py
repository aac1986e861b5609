"""Byte-for-byte reproducible readers and writers for the pipeline's files.

Every stage writes through these helpers so that running a stage twice on
the same inputs gives identical bytes, which is what lets lattice cache the
stage, cut off unchanged dependents and `reproduce` it from the lockfile:

  * floats are written with a fixed number of decimals;
  * JSON keys are sorted;
  * rows are written in a stable, sorted order;
  * arrays are saved with numpy.savez, whose archives hold only the arrays'
    names and bytes (Python's zipfile dates every member 1980-01-01).
"""
import csv
import json
import os

import numpy as np


def fail(msg):
    """Stop the stage with a message on stderr and exit status 1."""
    raise SystemExit("error: " + msg)


def fmt(x, decimals=6):
    """Render a float with a fixed number of decimals, without "-0.0"."""
    s = f"{float(x):.{decimals}f}"
    return "0." + "0" * decimals if s == "-0." + "0" * decimals else s


def makedirs_for(path):
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)


def read_csv(path):
    """Return the header and the rows of a CSV file, as lists of strings."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        fail(f"{path} is empty: expected a header line")
    return rows[0], rows[1:]


def write_csv(path, header, rows):
    makedirs_for(path)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_json(path, obj):
    """Write JSON with sorted keys; floats must already be rounded."""
    makedirs_for(path)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def read_json(path):
    with open(path) as f:
        return json.load(f)


def save_npz(path, **arrays):
    """Write arrays as an uncompressed .npz at exactly path (numpy.savez
    given a name would add ".npz" to one that lacks it)."""
    makedirs_for(path)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_npz(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def write_pgm(path, img):
    """Write an 8-bit grayscale image as binary PGM (P5)."""
    img = np.asarray(img, dtype=np.uint8)
    h, w = img.shape
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (w, h))
        f.write(img.tobytes())


def read_pgm(path):
    """Read a binary PGM (P5) with maxval 255; raise ValueError if the file
    is not one."""
    with open(path, "rb") as f:
        data = f.read()
    # The header is four whitespace-separated tokens; the pixels start right
    # after the single whitespace byte that ends the last one. (Splitting
    # the whole file on whitespace would eat pixels whose value is a
    # whitespace byte.)
    tokens, pos = [], 0
    while len(tokens) < 4:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace():
            pos += 1
        if start == pos:
            raise ValueError("truncated PGM header")
        tokens.append(data[start:pos])
    if tokens[0] != b"P5":
        raise ValueError("not a binary PGM (P5) file")
    try:
        w, h, maxval = (int(t) for t in tokens[1:])
    except ValueError:
        raise ValueError("malformed PGM header") from None
    if maxval != 255:
        raise ValueError(f"maxval is {maxval}, want 255")
    pixels = data[pos + 1:]
    if len(pixels) != w * h:
        raise ValueError(f"has {len(pixels)} pixel bytes, want {w}x{h}={w * h}")
    return np.frombuffer(pixels, dtype=np.uint8).reshape(h, w)
