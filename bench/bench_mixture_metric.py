"""Which primary metric ranks ring8 sample sets as they look: FD of the points against ``mmd``.

    nice -n 10 python3 bench/bench_mixture_metric.py [--samples 2000] [--cache /tmp/ring8-gans.npz]
                                                    [--figure docs/img/mixture_metric.png]

Scores hand-made sets (perfect samples, a sharp generator dropping 2 of 8 modes, a cloud with
every mode 10× too wide, one Gaussian blob with the data's mean and covariance, every sample on
one mode) and real GANs trained with ``GANTrainer`` on one CPU thread (mlp, width 128, batch 128,
z 8, Adam 1e-3 / 0.5: NS seeds 0-2 sampled at 250-8,000 steps, NS + SN and WGAN-GP seed 0 at
1,000 and 4,000; about 5 CPU minutes, cached in ``--cache``). What the samples show is measured
from the samples themselves: modes, hq, the reverse KL of the high-quality samples' mode
histogram to uniform (PacGAN's three), and the *matched mass* Σ_k min(share of samples that are
high quality at mode k, 1/K): 1 for perfect samples, 0.75 for dropping 2 of 8, the hq share for
a cloud, 1/8 for a collapse. Prints every set's numbers and, per metric, Spearman ρ of −metric
against the matched mass and modes/8 + hq, and the share of dominated pairs it orders right (A at
least as good as B in modes, hq and reverse KL and better in one: A must score lower).
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from gansweep.data.points import MIXTURES, mixture_split
from gansweep.metrics.frechet import frechet_distance
from gansweep.metrics.mixtures import STD_RADIUS, mixture_mmd

SNAPSHOTS = [250, 500, 1000, 2000, 4000, 8000]
RUNS = [("ns", {}, s, SNAPSHOTS) for s in (0, 1, 2)] + [
    ("ns-sn", {"normalization": "sn"}, 0, [1000, 4000]),
    ("wgan-gp", {"loss": "wgan", "penalty": "gp", "penalty_weight": 10.0, "n_disc": 5, "lr": 1e-4}, 0, [1000, 4000]),
]


def hand_made(seed: int, n: int) -> dict[str, np.ndarray]:
    centers, std = MIXTURES["ring8"][0](), MIXTURES["ring8"][1]
    real = mixture_split("ring8", "test")[0]
    rng = np.random.default_rng(seed)
    label = rng.integers(len(centers), size=n)
    noise = rng.standard_normal((n, 2))
    return {
        "perfect": centers[label] + std * noise,
        "drop2": centers[rng.choice(np.arange(2, len(centers)), n)] + std * noise,
        "smeared": centers[label] + 10 * std * noise,
        "blob": rng.multivariate_normal(real.mean(0), np.cov(real.T), n),
        "collapse": centers[np.zeros(n, dtype=int)] + std * noise,
    }


def train(n: int) -> dict[str, np.ndarray]:
    from gansweep.data import load_dataset
    from gansweep.gan import GANConfig, GANTrainer

    torch.set_num_threads(1)
    data = load_dataset("ring8")
    out = {}
    for name, extra, seed, snaps in RUNS:
        cfg = GANConfig("mlp", **{**dict(width=128, batch_size=128, z_dim=8, lr=1e-3, beta1=0.5, beta2=0.9), **extra})
        trainer, done = GANTrainer(cfg, data, seed=seed), 0
        for step in snaps:
            trainer.train(step - done)
            done = step
            with torch.no_grad():
                out[f"{name}.s{seed}.{step}"] = trainer.sample(n).cpu().numpy()
    return out


def describe(x: np.ndarray, real: np.ndarray) -> dict[str, float]:
    centers, std = MIXTURES["ring8"][0](), MIXTURES["ring8"][1]
    t = torch.as_tensor(x, dtype=torch.float64)
    dist, mode = torch.cdist(t, torch.as_tensor(centers)).min(1)
    good = dist <= STD_RADIUS * std
    hist = torch.bincount(mode[good], minlength=len(centers)).numpy()
    p = hist / max(hist.sum(), 1)
    rkl = math.log(len(centers)) if not hist.sum() else float(sum(q * math.log(q * len(centers)) for q in p if q > 0))
    return {"modes": int((hist > 0).sum()), "hq": float(good.double().mean()), "rkl": rkl,
            "matched": float(np.minimum(hist / len(x), 1 / len(centers)).sum()),
            "fd": frechet_distance(x.mean(0), np.cov(x.T), real.mean(0), np.cov(real.T)),
            "mmd": mixture_mmd(t, torch.as_tensor(real), std)}


def agreement(rows: list[dict], metric: str) -> str:
    v = -np.array([r[metric] for r in rows])
    rho_m = spearmanr(v, [r["matched"] for r in rows]).statistic
    rho_s = spearmanr(v, [r["modes"] / 8 + r["hq"] for r in rows]).statistic
    agree = total = 0
    for a, b in itertools.combinations(rows, 2):
        ka, kb = (a["modes"], a["hq"], -a["rkl"]), (b["modes"], b["hq"], -b["rkl"])
        if ka == kb:
            continue
        ab, ba = all(x >= y for x, y in zip(ka, kb)), all(y >= x for x, y in zip(ka, kb))
        if ab != ba:
            better, worse = (a, b) if ab else (b, a)
            total += 1
            agree += better[metric] < worse[metric]
    return f"ρ vs matched {rho_m:.2f}, ρ vs modes/8+hq {rho_s:.2f}, dominated pairs ordered right {agree}/{total}"


def figure(rows: list[dict], sets: dict[str, np.ndarray], path: Path) -> None:
    from matplotlib.figure import Figure

    hand = [r for r in rows if r["set"].startswith("hand:")]
    gans = [r for r in rows if r["set"].startswith("gan:")]
    picks = [("mmd's first", min(hand, key=lambda r: r["mmd"])), ("mmd's last", max(hand, key=lambda r: r["mmd"])),
             ("FD's first", min(hand, key=lambda r: r["fd"])), ("mmd's first", min(gans, key=lambda r: r["mmd"])),
             ("mmd's last", max(gans, key=lambda r: r["mmd"])), ("FD's first", min(gans, key=lambda r: r["fd"]))]
    fig = Figure(figsize=(9, 7.2), dpi=72)
    for i, (what, r) in enumerate(picks):
        ax = fig.add_subplot(2, 3, i + 1)
        x = sets[r["set"]][:1000]
        ax.scatter(x[:, 0], x[:, 1], s=2, c="#0072B2", alpha=0.5, linewidths=0)
        c = MIXTURES["ring8"][0]()
        ax.scatter(c[:, 0], c[:, 1], s=12, marker="x", c="#D55E00", linewidths=0.8)
        ax.set(xlim=(-3, 3), ylim=(-3, 3), aspect="equal", xticks=[], yticks=[])
        kind = "hand-made" if r["set"].startswith("hand:") else "trained"
        ax.set_title(f"{kind}: {what}\n{r['set'].split(':')[1]}  mmd {r['mmd']:.3f}  FD {r['fd']:.3f}\n"
                     f"{r['modes']} modes, hq {r['hq']:.0%}, matched {r['matched']:.0%}", fontsize=8)
    fig.suptitle("ring8, 1,000 of 2,000 samples; × = the 8 modes", fontsize=9)
    fig.tight_layout(h_pad=2.5)
    fig.savefig(path, dpi=72)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/ring8-gans.npz"))
    ap.add_argument("--figure", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    real = mixture_split("ring8", "test")[0][: args.samples]
    sets = {f"hand:{k}": v for k, v in hand_made(0, args.samples).items()}
    if args.cache.is_file():
        with np.load(args.cache) as z:
            trained = {k: z[k] for k in z.files}
    else:
        t0 = time.process_time()
        trained = train(args.samples)
        print(f"trained {len(RUNS)} GANs in {time.process_time() - t0:.0f} CPU s")
        np.savez(args.cache, **trained)
    sets.update({f"gan:{k}": v[: args.samples].astype(np.float64) for k, v in trained.items()})
    rows = [{"set": k, **describe(x, real)} for k, x in sets.items()]
    for r in rows:
        print(f"{r['set']:22s} modes {r['modes']} hq {r['hq']:.3f} rKL {r['rkl']:.2f} matched {r['matched']:.3f} "
              f"fd {r['fd']:.4f} mmd {r['mmd']:.4f}")
    for metric in ("fd", "mmd"):
        for label, sub in (("trained", [r for r in rows if r["set"].startswith("gan:")]), ("all", rows)):
            print(f"{metric:4s} {label:8s} {agreement(sub, metric)}")
    if args.figure:
        figure(rows, sets, args.figure)
        print(f"wrote {args.figure} ({args.figure.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
