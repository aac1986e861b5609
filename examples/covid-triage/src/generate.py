"""Generate a synthetic triage cohort from a seed.

Each patient has two hidden components of disease, both N(0, 1): "lung"
(pneumonia) and "systemic" (the inflammatory response). The outcome
"severe" (ICU admission or death within 28 days) is their sum, plus a little
for age and some unexplained variation, above a threshold that makes about
one patient in four severe. Nothing observable carries either component
exactly:

  * vitals, taken at 2 to 6 visits, follow the components (temperature and
    heart rate the systemic one, oxygen saturation the lung one, breathing
    rate both) and drift over the stay (severe disease progresses, mild
    disease resolves), under bedside measurement noise;
  * the admission chest X-ray (64x64, 8-bit) shows a diffuse haze and
    more, larger patchy opacities over the lungs as the lung component
    rises, on top of anatomy that varies between patients, ribs, soft-tissue
    mottling, film grain and exposure.

With 2000 patients, a logistic regression on the vitals alone reaches a
validation AUC of about 0.86, on the X-ray alone about 0.73, on both about
0.89: learnable, useful, far from perfect.

Outputs: a vitals CSV (one row per visit), a directory of PGM images named
<patient_id>.pgm, and a labels CSV (patient_id,severe).
"""
import argparse
import datetime
import os

import numpy as np

import artifacts

SIZE = 64
VITALS_HEADER = ["patient_id", "timestamp", "temperature", "spo2", "heart_rate", "resp_rate", "age"]
START = datetime.datetime(2020, 3, 1, tzinfo=datetime.timezone.utc)


def cohort(rng, n):
    """Age, the two components of disease, and the outcome of each patient.

    The lung component is pneumonia: it shows on the X-ray and lowers
    oxygen saturation. The systemic component is the body's inflammatory
    response: fever, a racing heart and fast breathing. Older patients
    fare worse. The outcome depends on both components, so neither the
    X-ray nor the vitals tell the whole story.
    """
    age = np.clip(np.round(rng.normal(56, 17, n)), 18, 95).astype(int)
    lung = rng.normal(0, 1, n)
    systemic = rng.normal(0, 1, n)
    risk = 0.8 * lung + 0.8 * systemic + 0.025 * (age - 56) + rng.normal(0, 0.65, n)
    severe = (risk > 1.0).astype(int)
    return age, lung, systemic, severe


def vitals_rows(rng, pid, age, lung, systemic):
    visits = int(rng.integers(2, 7))
    t = START + datetime.timedelta(days=int(rng.integers(0, 480)), hours=int(rng.integers(0, 24)))
    rows = []
    for j in range(visits):
        # Severe disease progresses over the stay; mild disease resolves.
        drift = 0.15 * j * (1 if lung + systemic > 1.0 else -1)
        l, s = lung + drift, systemic + drift
        temp = np.clip(37.0 + 0.3 * s + rng.normal(0, 0.6), 34.5, 41.5)
        spo2 = np.clip(96.0 - 1.1 * l + rng.normal(0, 2.6), 70, 100)
        hr = np.clip(82 + 5.0 * s + rng.normal(0, 14), 40, 180)
        rr = np.clip(17 + 1.0 * s + 0.6 * l + rng.normal(0, 3.8), 8, 45)
        rows.append([
            pid,
            t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            artifacts.fmt(temp, 1),
            str(int(round(spo2))),
            str(int(round(hr))),
            str(int(round(rr))),
            str(age),
        ])
        t += datetime.timedelta(hours=int(rng.integers(4, 13)))
    return rows


def ellipse(yy, xx, cy, cx, ry, rx):
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def smooth_noise(rng, sigma):
    """White noise low-pass filtered with a Gaussian in Fourier space, scaled
    to unit standard deviation: the mottled texture of soft tissue."""
    f = np.fft.fftfreq(SIZE)
    k = np.exp(-2 * (np.pi * sigma) ** 2 * (f[:, None] ** 2 + f[None, :] ** 2))
    n = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(0, 1, (SIZE, SIZE))) * k))
    return n / n.std()


def xray(rng, lung):
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(float)
    dy, dx = rng.normal(0, 1.5, 2)
    s = rng.uniform(0.93, 1.07)  # body size
    body = ellipse(yy, xx, 33 + dy, 32 + dx, 30 * s, 27 * s)
    left = ellipse(yy, xx, 29 + dy, 20 + dx, 19 * s, 9.5 * s)
    right = ellipse(yy, xx, 29 + dy, 44 + dx, 19 * s, 9.5 * s)
    heart = ellipse(yy, xx, 40 + dy, 35 + dx, 11 * s, 9 * s)
    fields = (left | right) & ~heart

    img = np.where(body, 0.50, 0.04)
    img = np.where(fields, 0.20, img)
    ribs = 0.05 * np.clip(np.sin(2 * np.pi * (yy - dy) / 7.0 + rng.uniform(0, 2 * np.pi)), 0, None)
    img = img + np.where(fields, ribs, 0.0)

    # A diffuse ground-glass haze over the lung fields rises with the disease.
    img = img + np.where(fields, 0.08 / (1 + np.exp(-1.5 * (lung - 0.5))), 0.0)
    # Patchy opacities: more and larger as the disease rises.
    count = min(rng.poisson(np.exp(0.1 + 0.6 * lung)), 12)
    ly, lx = np.nonzero(fields)
    for _ in range(count):
        i = rng.integers(0, len(ly))
        sig = rng.uniform(2.0, 4.0 + max(lung, 0.0))
        amp = rng.uniform(0.06, 0.18)
        blob = amp * np.exp(-((yy - ly[i]) ** 2 + (xx - lx[i]) ** 2) / (2 * sig ** 2))
        img = img + np.where(body, blob, 0.0)

    img = img + 0.035 * smooth_noise(rng, 2.5) * body
    img = img + rng.normal(0, 0.03, (SIZE, SIZE))
    # Exposure differs from one film to the next.
    img = img * rng.normal(1.0, 0.08) + rng.normal(0, 0.03)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--patients", type=int, required=True)
    ap.add_argument("--vitals", required=True, help="vitals CSV to write")
    ap.add_argument("--xrays", required=True, help="directory of PGM images to write")
    ap.add_argument("--labels", required=True, help="labels CSV to write")
    a = ap.parse_args()
    if a.patients < 10:
        artifacts.fail(f"--patients is {a.patients}; need at least 10")

    # Independent streams, so that changing how images are drawn does not
    # change the cohort or its vitals.
    cohort_rng, vitals_rng, image_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(a.seed).spawn(3))
    age, lung, systemic, severe = cohort(cohort_rng, a.patients)
    ids = [f"P{i:05d}" for i in range(1, a.patients + 1)]

    rows = []
    for pid, ag, l, s in zip(ids, age, lung, systemic):
        rows.extend(vitals_rows(vitals_rng, pid, int(ag), float(l), float(s)))
    artifacts.write_csv(a.vitals, VITALS_HEADER, rows)

    os.makedirs(a.xrays, exist_ok=True)
    for pid, l in zip(ids, lung):
        artifacts.write_pgm(os.path.join(a.xrays, pid + ".pgm"), xray(image_rng, float(l)))

    artifacts.write_csv(a.labels, ["patient_id", "severe"], [[p, str(int(y))] for p, y in zip(ids, severe)])
    print(f"generated {a.patients} patients ({int(severe.sum())} severe), {len(rows)} visits")


if __name__ == "__main__":
    main()
