"""FID / IS / KID / precision / recall equal torch-fidelity's on the same images and weights."""

import pytest
import torch
import torch_fidelity

from gansweep.data.base import Dataset
from gansweep.metrics import Evaluator
from gansweep.metrics.features import to_uint8
from gansweep.metrics.inception import write_random_inception_weights

N = 10  # the least the 10 IS splits allow: each image costs two Inception forwards at 299×299


class U8(torch.utils.data.Dataset):
    def __init__(self, x):
        self.x = x

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i]


def images(seed, shift):
    """Smooth random 3×16×16 images in [-1, 1] on the uint8 grid."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(N, 3, 4, 4, generator=g) * 2 - 1 + shift
    x = torch.nn.functional.interpolate(low, size=16, mode="bilinear", align_corners=False).clamp(-1, 1)
    return to_uint8(x).float() / 127.5 - 1


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return str(write_random_inception_weights(tmp_path_factory.mktemp("inception") / "w.pth", seed=0))


@pytest.mark.slow
def test_equal_to_torch_fidelity(weights, fixed_trainer, metrics_cache, monkeypatch):
    real, fake = images(1, 0.0), images(2, 0.3)
    assert torch.equal(to_uint8(real).float() / 127.5 - 1, real)
    ref = torch_fidelity.calculate_metrics(
        input1=U8(to_uint8(fake)), input2=U8(to_uint8(real)), cuda=False, batch_size=N,
        isc=True, fid=True, kid=True, prc=True, feature_extractor="inception-v3-compat",
        feature_extractor_weights_path=weights, kid_subset_size=8, kid_subsets=20,
        cache=False, save_cpu_ram=True, verbose=False,
    )
    ds = Dataset(name="tiny", train=real, test=real)
    ev = Evaluator(ds, ["fid", "is", "kid", "precision", "recall"], samples=N, cache_dir=metrics_cache,
                   inception_weights=weights, options={"kid_subset_size": 8, "kid_subsets": 20})
    ours = ev(fixed_trainer(fake))
    assert ref["frechet_inception_distance"] > 1e-3  # the sets differ: no cancellation to zero
    assert ours["fid"] == pytest.approx(ref["frechet_inception_distance"], rel=1e-4)
    assert ours["is"] == pytest.approx(ref["inception_score_mean"], rel=1e-4)
    assert ours["is_std"] == pytest.approx(ref["inception_score_std"], rel=1e-4, abs=1e-9)
    assert ours["kid"] == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-4)
    assert ours["kid_std"] == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-4)
    assert ours["precision"] == pytest.approx(ref["precision"], rel=1e-6)
    assert ours["recall"] == pytest.approx(ref["recall"], rel=1e-6)
    # a second evaluator reads the Inception reference from the cache
    from gansweep.metrics import evaluator

    monkeypatch.setattr(evaluator, "extract", lambda *a, **k: pytest.fail("recomputed the reference"))
    Evaluator(ds, ["fid", "kid"], samples=N, cache_dir=metrics_cache, inception_weights=weights)


def test_weights_hash_is_in_the_cache_key(tmp_path, weights, metrics_cache):
    from gansweep.metrics.features import InceptionSpace
    from gansweep.metrics.inception import weights_digest

    other = write_random_inception_weights(tmp_path / "b.pth", seed=1)
    digest = weights_digest(weights, metrics_cache)
    assert digest != weights_digest(other, metrics_cache)
    assert digest == weights_digest(weights, metrics_cache)  # memoised, same answer
    assert digest[:16] in InceptionSpace(weights, "cpu", metrics_cache).key
