"""Benchmark: gansweep's FID evaluation vs torch-fidelity's own ``calculate_metrics``, same run.

Both get the same N generated and N real 32×32 RGB images (smooth random images on the uint8
grid; no data set download) and the same Inception weights: the real file when one is found
(``--weights``, ``GANSWEEP_INCEPTION_WEIGHTS`` or torch-fidelity's cache), else a randomly
initialised state dict (timings are the same; the FID values are then meaningless but must agree).

Timed, each side:
- ``first``: the first evaluation, real-data statistics included (gansweep: ``Evaluator(...)`` +
  one call; torch-fidelity: ``calculate_metrics`` with an empty cache);
- ``eval``: one more evaluation with the real statistics cached (gansweep: ``evaluator(trainer)``;
  torch-fidelity: ``calculate_metrics`` again, ``input2_cache_name`` set) — what a trial pays
  at every evaluation.

    python bench/bench_metrics.py --n 10000 --device cuda
    python bench/bench_metrics.py --n 64 --device cpu
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from pathlib import Path

import torch


class _U8(torch.utils.data.Dataset):
    def __init__(self, x: torch.Tensor) -> None:
        self.x = x

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.x[i]


class _Trainer:
    """Hands out precomputed generated images on the device, like a trainer's ``sample``."""

    def __init__(self, x: torch.Tensor) -> None:
        self.x, self.pos = x, 0

    def sample(self, n: int) -> torch.Tensor:
        out = self.x[self.pos : self.pos + n]
        self.pos = (self.pos + n) % len(self.x)
        return out


def _images(n: int, res: int, seed: int, shift: float) -> torch.Tensor:
    from gansweep.metrics.features import to_uint8

    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, res // 4, res // 4, generator=g) * 2 - 1 + shift
    x = torch.nn.functional.interpolate(low, size=res, mode="bilinear", align_corners=False).clamp(-1, 1)
    return to_uint8(x)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="generated and real samples (default 10000)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=200, help="gansweep's batch (torch-fidelity: its default 64)")
    ap.add_argument("--weights", default=None, help="Inception weights file (default: found, else random)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore", message="This DataLoader will create")  # torch-fidelity's workers
    if args.threads:
        torch.set_num_threads(args.threads)

    import torch_fidelity

    from gansweep.data.base import Dataset
    from gansweep.metrics import Evaluator
    from gansweep.metrics.inception import find_inception_weights, write_random_inception_weights

    device = torch.device(args.device)
    tmp = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    weights = args.weights or find_inception_weights()
    real_weights = weights is not None
    if weights is None:
        weights = write_random_inception_weights(tmp / "random-inception.pth")
    weights = str(weights)

    real_u8 = _images(args.n, args.resolution, 1, 0.0)
    fake_u8 = _images(args.n, args.resolution, 2, 0.2)
    real = real_u8.float() / 127.5 - 1
    fake = (fake_u8.float() / 127.5 - 1).to(device)
    ds = Dataset(name="bench", train=real[:1], test=real)

    print(f"device={device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}), "
          f"n={args.n}, {args.resolution}x{args.resolution}, threads={torch.get_num_threads()}, "
          f"weights={'real' if real_weights else 'random-init'}")

    # gansweep
    _sync(device)
    t0 = time.perf_counter()
    ev = Evaluator(ds, ["fid"], samples=args.n, device=device, cache_dir=tmp / "gansweep",
                   inception_weights=weights, options={"batch_size": args.batch_size})
    ours_first = ev(_Trainer(fake))["fid"]
    _sync(device)
    t1 = time.perf_counter()
    ours = ev(_Trainer(fake))["fid"]
    _sync(device)
    t2 = time.perf_counter()

    # torch-fidelity, same process, same images and weights
    kw = dict(input1=_U8(fake_u8), input2=_U8(real_u8), fid=True, cuda=device.type == "cuda",
              feature_extractor_weights_path=weights, input2_cache_name=f"bench-real-{args.n}",
              cache_root=str(tmp / "torch-fidelity"), verbose=False)
    t3 = time.perf_counter()
    ref_first = torch_fidelity.calculate_metrics(**kw)["frechet_inception_distance"]
    t4 = time.perf_counter()
    ref = torch_fidelity.calculate_metrics(**kw)["frechet_inception_distance"]
    t5 = time.perf_counter()

    rel = abs(ours - ref) / max(abs(ref), 1e-12)
    print(f"{'':16}{'gansweep':>12}{'torch-fidelity':>16}{'ratio tf/ours':>15}")
    print(f"{'first (s)':16}{t1 - t0:12.2f}{t4 - t3:16.2f}{(t4 - t3) / (t1 - t0):15.2f}")
    print(f"{'eval (s)':16}{t2 - t1:12.2f}{t5 - t4:16.2f}{(t5 - t4) / (t2 - t1):15.2f}")
    print(f"{'FID':16}{ours:12.6g}{ref:16.6g}   rel. diff {rel:.1e} (first: {ours_first:.6g} / {ref_first:.6g})")


if __name__ == "__main__":
    main()
