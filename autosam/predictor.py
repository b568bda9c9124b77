"""One predictor for the app, the CLI and the leaderboard: every mode of the paper's Table 1.

The image embedding (and g's prompt) is computed once per image and cached by content hash,
so a new click or box only costs SAM's prompt encoder and decoder.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from .backends.base import FrozenBackend
from .checkpoint import TrainedModel
from .geometry import LOW_RES, letterbox_images, letterbox_masks, mask_to_logits
from .image_io import ImageLike, content_hash, load_image, load_mask

AUTOSAM, H, SAM_POINTS, SAM_BOX, SAM_MASK, AUTOSAM_MASK = (
    "autosam", "h", "sam_points", "sam_box", "sam_mask_prompt", "autosam_as_mask_prompt")
MODES = (AUTOSAM, H, SAM_POINTS, SAM_BOX, SAM_MASK, AUTOSAM_MASK)
MODEL_MODES = (AUTOSAM, H, AUTOSAM_MASK)  # need a trained g


class NoModelError(RuntimeError):
    """A mode needs a trained g (or h) and none is loaded."""


@dataclass
class Prediction:
    mode: str
    prob: np.ndarray  # float32 H×W in [0, 1], original image size
    mask: np.ndarray  # bool H×W: prob > threshold
    latency_s: float
    low_res_logits: torch.Tensor | None = None  # [1,1,256,256], reusable as a mask prompt


@dataclass
class _ImageState:
    key: str
    original_hw: tuple[int, int]
    input_hw: tuple[int, int]
    embedding: torch.Tensor  # [1,256,64,64]
    image: np.ndarray
    dense: torch.Tensor | None = None  # g(I), computed on first use


class Predictor:
    def __init__(self, backend: FrozenBackend, model: TrainedModel | None = None,
                 threshold: float = 0.5, cache_size: int = 16) -> None:
        if model is not None and model.config.backend != backend.name:
            raise ValueError(f"The model was trained on {model.config.backend}, not {backend.name}.")
        self.backend = backend
        self.model = model
        if model is not None:
            model.g.to(backend.device).eval()
            if model.h is not None:
                model.h.to(backend.device).eval()
        self.threshold = threshold
        self.cache_size = cache_size
        self._cache: OrderedDict[str, _ImageState] = OrderedDict()
        # The app serves several users from one predictor: one forward at a time keeps the
        # cache consistent (and CPU inference does not gain from concurrency anyway).
        self._lock = threading.RLock()

    # ---- embedding cache ----------------------------------------------------------------
    def _states(self, images: list[np.ndarray]) -> list[_ImageState]:
        keys = [content_hash(img) for img in images]
        todo = [i for i, k in enumerate(keys) if k not in self._cache]
        if todo:
            emb, sizes = self._encode([images[i] for i in todo], [keys[i] for i in todo])
            for j, i in enumerate(todo):
                self._cache[keys[i]] = _ImageState(keys[i], images[i].shape[:2], sizes[j],
                                                   emb[j: j + 1], images[i])
        states = []
        for k in keys:
            self._cache.move_to_end(k)
            states.append(self._cache[k])
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return states

    def _encode(self, images: list[np.ndarray], keys: list[str]) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """Image embeddings for cache misses; subclasses may read them from elsewhere (a disk cache)."""
        x, sizes = self.backend.preprocess(images)
        return self.backend.encode(x), sizes

    def set_image(self, image: ImageLike) -> str:
        """Decode and embed ``image`` now (the app calls this on upload); returns its cache key."""
        img = load_image(image)
        with self._lock:
            return self._states([img])[0].key

    def _require(self, mode: str) -> TrainedModel:
        if self.model is None:
            raise NoModelError(
                f"Mode {mode!r} needs a trained AutoSAM model and none is loaded. Train one with "
                "`autosam train` or pass --checkpoint PATH."
            )
        if mode == H and self.model.h is None:
            raise NoModelError("This checkpoint has no surrogate decoder h: train it with `autosam train-h`.")
        return self.model

    def _dense(self, states: list[_ImageState]) -> torch.Tensor:
        model = self._require(AUTOSAM)
        todo = [s for s in states if s.dense is None]
        if todo:
            g = model.g
            emb = torch.cat([s.embedding for s in todo])
            g_in = None
            if not getattr(g, "needs_image_embedding", False):
                g_in = g.normalize(letterbox_images([s.image for s in todo], model.config.g.input_size)
                                   .to(self.backend.device))
            with torch.inference_mode(), self.backend._autocast():
                dense = g(g_in, image_embeddings=emb).float()
            for j, s in enumerate(todo):
                s.dense = dense[j: j + 1].clone()
        return torch.cat([s.dense for s in states])

    # ---- prediction -----------------------------------------------------------------------
    def _finish(self, mode: str, logits: torch.Tensor, state: _ImageState, t0: float) -> Prediction:
        full = self.backend.postprocess(logits, state.input_hw, state.original_hw)
        prob = torch.sigmoid(full)[0, 0].float().cpu().numpy()
        return Prediction(mode, prob, prob > self.threshold, time.perf_counter() - t0, logits.detach())

    @torch.inference_mode()
    def _low_res(self, mode: str, states: list[_ImageState], points=None, labels=None, box=None,
                 mask_prompt=None) -> torch.Tensor:
        b = self.backend
        emb = torch.cat([s.embedding for s in states])
        if mode == AUTOSAM:
            sparse, _ = b.no_prompt(len(states))
            return b.decode(emb, sparse, self._dense(states))[0]
        if mode == H:
            dense = self._dense(states)
            with b._autocast():
                return self._require(H).h(dense).float()
        st = states[0]
        if mode == SAM_POINTS:
            if points is None or len(points) == 0:
                raise ValueError("sam_points needs at least one point (x, y).")
            pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
            lab = np.ones(len(pts), np.int64) if labels is None else np.asarray(labels, np.int64).reshape(-1)
            if len(lab) != len(pts):
                raise ValueError(f"{len(pts)} points but {len(lab)} labels.")
            coords = torch.from_numpy(b.transform_coords(pts, st.original_hw))[None]
            sparse, dense = b.prompt_encode(points=(coords, torch.from_numpy(lab)[None]))
            # One click is ambiguous: take SAM's best of its three masks (as SAM's own demo does).
            multi = len(pts) == 1
            logits, iou = b.decode(emb, sparse, dense, multimask=multi)
            return logits[:, iou[0].argmax()][:, None] if multi else logits
        if mode == SAM_BOX:
            if box is None:
                raise ValueError("sam_box needs a box (x0, y0, x1, y1).")
            bx = np.asarray(box, dtype=np.float32).reshape(2, 2)
            bx = np.stack([bx.min(0), bx.max(0)])  # any two opposite corners
            coords = torch.from_numpy(b.transform_coords(bx, st.original_hw).reshape(1, 4))
            sparse, dense = b.prompt_encode(boxes=coords)
            return b.decode(emb, sparse, dense)[0]
        if mode == SAM_MASK:
            if mask_prompt is None:
                raise ValueError("sam_mask_prompt needs a mask.")
            m = load_mask(mask_prompt)
            if m.shape != st.original_hw:
                raise ValueError(f"The mask is {m.shape[1]}×{m.shape[0]} but the image is "
                                 f"{st.original_hw[1]}×{st.original_hw[0]}; they must match.")
            prompt = mask_to_logits(letterbox_masks([m], LOW_RES)).to(b.device)
            sparse, dense = b.prompt_encode(masks=prompt)
            return b.decode(emb, sparse, dense)[0]
        if mode == AUTOSAM_MASK:
            prompt = self._low_res(AUTOSAM, states)
            sparse, dense = b.prompt_encode(masks=prompt)
            return b.decode(emb, sparse, dense)[0]
        raise ValueError(f"Unknown mode {mode!r}. Modes: {', '.join(MODES)}.")

    def predict(self, image: ImageLike, mode: str = AUTOSAM, points=None, labels=None, box=None,
                mask_prompt=None) -> Prediction:
        """Predict one image. Points/boxes are (x, y) pixels of the original image."""
        t0 = time.perf_counter()
        if mode not in MODES:
            raise ValueError(f"Unknown mode {mode!r}. Modes: {', '.join(MODES)}.")
        if mode in MODEL_MODES:
            self._require(mode)
        img = load_image(image)
        with self._lock:
            state = self._states([img])[0]
            logits = self._low_res(mode, [state], points, labels, box, mask_prompt)
            return self._finish(mode, logits, state, t0)

    def predict_batch(self, images: list[ImageLike], mode: str = AUTOSAM) -> list[Prediction]:
        """Batched ``autosam`` / ``h`` prediction (one encoder pass for the batch)."""
        if mode not in (AUTOSAM, H):
            raise ValueError("predict_batch supports the prompt-free modes 'autosam' and 'h'.")
        self._require(mode)
        t0 = time.perf_counter()
        decoded = [load_image(im) for im in images]
        with self._lock:
            states = self._states(decoded)
            logits = self._low_res(mode, states)
        per = (time.perf_counter() - t0) / max(len(states), 1)
        preds = []
        for i, s in enumerate(states):
            p = self._finish(mode, logits[i: i + 1], s, time.perf_counter())
            p.latency_s += per
            preds.append(p)
        return preds
