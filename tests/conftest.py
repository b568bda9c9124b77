"""Shared test setup: every test runs offline (no Hub, no network), on CPU, on small inputs."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["AUTOSAM_OFFLINE"] = "1"

import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))

# The real data sets live beside the checkout (../shared/data); a fresh clone has none.
SHARED_DATA = Path(os.environ.get("AUTOSAM_SHARED_DATA",
                                  Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_backend():
    from autosam.backends import create_backend
    return create_backend("sam_tiny")


@pytest.fixture(scope="session")
def lite_backend():
    from autosam.backends import create_backend
    return create_backend("lite_medsam")


def make_tiny_model(backend, backbone: str = "hardnet39ds", input_size: int = 64, with_h: bool = True):
    """A randomly initialised TrainedModel for the tiny back-end (fast, deterministic)."""
    from autosam.checkpoint import TrainedModel
    from autosam.config import GConfig, ModelConfig
    from autosam.models import SurrogateDecoder, build_g

    torch.manual_seed(0)
    cfg = ModelConfig(backend=backend.name, backend_sha256=backend.weights_sha256,
                      g=GConfig(backbone=backbone, input_size=input_size), has_h=with_h)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = build_g(cfg.g).eval()
    h = SurrogateDecoder().eval() if with_h else None
    return TrainedModel(cfg, g, h)


@pytest.fixture()
def tiny_model(tiny_backend):
    return make_tiny_model(tiny_backend)


def synthetic_pair(h: int = 96, w: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured image with a bright ellipse and its mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    ry, rx = rng.uniform(0.15, 0.3) * h, rng.uniform(0.15, 0.3) * w
    mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    img = rng.integers(0, 60, (h, w, 3)).astype(np.uint8)
    img[mask] = np.clip(img[mask].astype(int) + 150, 0, 255).astype(np.uint8)
    return img, mask


@pytest.fixture()
def pair():
    return synthetic_pair()
