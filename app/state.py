"""Model loading and the one shared, thread-safe predictor of the app.

The app owns exactly one :class:`Engine`: one frozen back-end, at most one trained model, one
:class:`autosam.predictor.Predictor` (whose embedding cache makes a new click cost only SAM's
prompt encoder and decoder) and one lock: Gradio runs events in worker threads, and one event's
panels (several predictor calls) should all see the same image and prompts.
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autosam.backends import (
    DEFAULT_BACKEND,
    SUPPORTED_PROMPTS,
    FrozenBackend,
    create_backend,
)
from autosam.checkpoint import (
    CheckpointError,
    TrainedModel,
    load_checkpoint,
    read_config,
)
from autosam.predictor import Prediction, Predictor

from .config import ASSETS_DIR, AppConfig

log = logging.getLogger(__name__)

try:  # Hugging Face ZeroGPU: @spaces.GPU requests a GPU per call; elsewhere a no-op.
    import spaces  # type: ignore

    gpu = spaces.GPU
except ImportError:  # the usual case (local machine, CPU or dedicated-GPU Space)
    def gpu(fn=None, **_kwargs):
        return fn if fn is not None else (lambda f: f)

TRAIN_HINT = (
    "Train one with `autosam train --data polyp_train --backbone sam_embed --out-dir runs/polyp` "
    "(add h with `autosam train-h --checkpoint runs/polyp/best.safetensors --data polyp_train "
    "--out-dir runs/polyp_h`), then restart with `python app.py --checkpoint runs/polyp/best.safetensors` "
    "(or set AUTOSAM_CHECKPOINT, or put NAME.safetensors + NAME.json in autosam/assets/)."
)

PROMPT_NAMES = {"points": "point clicks", "box": "boxes", "mask": "mask prompts"}

# Keys looked up (in order) in a checkpoint's JSON metadata to rank several shipped checkpoints.
_SCORE_KEYS = ("best_dice", "val_dice", "dice", "test_dice")


def _metadata_score(meta: dict) -> float | None:
    """The validation Dice `autosam train` records (metadata.metrics.val_dice / best.val_dice)."""
    for scope in (meta, meta.get("metrics") or {}, meta.get("best") or {}):
        if not isinstance(scope, dict):
            continue
        for k in _SCORE_KEYS:
            v = scope.get(k)
            if isinstance(v, (int, float)):
                return float(v)
    return None


def find_best_checkpoint(folder: Path = ASSETS_DIR, backend: str | None = None) -> Path | None:
    """The best ``*.safetensors`` in ``folder`` that has a readable config.

    Ranked by a Dice recorded in the config's metadata (``best_dice``/``val_dice``/``dice``/
    ``test_dice``, top level or under ``metrics`` or ``best``), then by newest file. When ``backend`` is
    given, checkpoints trained on it are preferred.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    ranked = []
    for p in sorted(folder.glob("*.safetensors")):
        try:
            cfg = read_config(p)
        except CheckpointError as exc:
            log.warning("Ignoring %s: %s", p.name, exc)
            continue
        score = _metadata_score(cfg.metadata or {})
        same = backend is None or cfg.backend == backend
        ranked.append((same, score is not None, score or 0.0, p.stat().st_mtime, p))
    if not ranked:
        return None
    return max(ranked, key=lambda r: r[:4])[4]


@dataclass
class Engine:
    """Back-end + optional trained model + predictor, guarded by one lock."""

    backend: FrozenBackend
    model: TrainedModel | None = None
    model_status: str = ""  # human-readable: what is loaded, or why nothing is
    checkpoint_path: Path | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.predictor = Predictor(self.backend, self.model)
        if not self.model_status:
            self.model_status = (f"Model `{self.checkpoint_path.name if self.checkpoint_path else 'in memory'}` loaded."
                                 if self.model is not None else "No trained AutoSAM model is loaded. " + TRAIN_HINT)

    # ---- capabilities --------------------------------------------------------------------
    @property
    def backend_name(self) -> str:
        return self.backend.name

    @property
    def supported_prompts(self) -> tuple[str, ...]:
        return SUPPORTED_PROMPTS.get(self.backend.name, ("points", "box", "mask"))

    @property
    def points_supported(self) -> bool:
        return "points" in self.supported_prompts

    @property
    def has_model(self) -> bool:
        return self.model is not None

    @property
    def has_h(self) -> bool:
        return self.model is not None and self.model.h is not None

    def describe(self) -> dict:
        return {
            "backend": self.backend.name,
            "backend_sha256": self.backend.weights_sha256,
            "device": str(self.backend.device),
            "supported_prompts": list(self.supported_prompts),
            "model_loaded": self.has_model,
            "has_h": self.has_h,
            "checkpoint": str(self.checkpoint_path) if self.checkpoint_path else None,
            "model_status": self.model_status,
        }

    def prompts_markdown(self) -> str:
        sup = ", ".join(PROMPT_NAMES.get(p, p) for p in self.supported_prompts)
        text = f"**Back-end:** `{self.backend.name}` understands {sup}."
        if not self.points_supported:
            text += (" It was fine-tuned with boxes only, so **draw a box** (two clicks = two corners); "
                     "point clicks give poor masks on it.")
        return text

    # ---- prediction (thread-safe) ----------------------------------------------------------
    def set_image(self, image: np.ndarray) -> str:
        with self.lock:
            return self.predictor.set_image(image)

    def predict(self, image: np.ndarray, mode: str, **kwargs) -> Prediction:
        with self.lock:
            return self.predictor.predict(image, mode, **kwargs)


def load_engine(cfg: AppConfig) -> Engine:
    """Build the back-end and load the checkpoint named by ``cfg`` (or the best shipped one).

    A checkpoint that cannot be used never stops the app: SAM's prompt modes still work and the
    status says what went wrong. A back-end that cannot be built does stop it (nothing would work).
    """
    ckpt: Path | None = Path(cfg.checkpoint).expanduser() if cfg.checkpoint else None
    explicit = ckpt is not None
    if ckpt is None:
        ckpt = find_best_checkpoint(ASSETS_DIR, cfg.backend)
    backend_name = cfg.backend
    status = ""
    if backend_name is None:
        backend_name = DEFAULT_BACKEND
        if ckpt is not None:
            try:
                backend_name = read_config(ckpt).backend
            except CheckpointError:
                pass  # reported below when loading
    backend = create_backend(backend_name, device=cfg.device)
    model = None
    if ckpt is not None:
        try:
            model = load_checkpoint(ckpt, backend_sha256=backend.weights_sha256, device=backend.device)
            if model.config.backend != backend.name:
                raise CheckpointError(f"{ckpt.name} was trained on {model.config.backend}, "
                                      f"but the app runs {backend.name}.")
            meta = json.dumps(model.config.metadata)[:200] if model.config.metadata else ""
            status = (f"Model `{ckpt.name}` loaded (g: {model.config.g.backbone}, input "
                      f"{model.config.g.input_size}², h: {'yes' if model.h is not None else 'no'}).")
            if meta:
                log.info("checkpoint metadata: %s", meta)
        except CheckpointError as exc:
            model = None
            status = f"The checkpoint could not be loaded: {exc} " + TRAIN_HINT
            log.warning(status)
            if explicit and not ckpt.exists():
                status = f"Checkpoint {ckpt} does not exist. " + TRAIN_HINT
    return Engine(backend, model, status, ckpt if model is not None else None)
