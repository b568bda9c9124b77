"""Train g through a frozen SAM back-end with BCE + Dice (paper Eq. 2–4).

Per step: each image's view of the epoch (:mod:`.data`) -> SAM embedding from the exact cache
(the encoder runs only on a cache miss, i.e. in the first epoch) -> g's dense prompt -> SAM's
decoder -> loss against the letterboxed 256×256 view mask. Every epoch: validation Dice/IoU at
the original resolution through the Predictor's own code (:func:`autosam.evaluation.evaluate`),
``last``/``best`` checkpoints, a resumable state, and a CSV row. ``train-h`` (:mod:`.train_h`)
reuses this loop with h as the trainable part.
"""
from __future__ import annotations

import copy
import logging
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, DistributedSampler

from ..backends import create_backend
from ..checkpoint import TrainedModel, save_checkpoint
from ..config import GConfig, ModelConfig
from ..evaluation import CachedPredictor, evaluate
from ..geometry import LOW_RES, letterbox_images, letterbox_masks
from ..losses import bce_dice_loss
from ..models import AutoSAM, build_g
from ..predictor import AUTOSAM
from .config import TrainConfig
from .data import Embedder, ViewDataset, ViewSampler, collate_views, fill_cache, open_data, open_train_data, split_by_id
from .distributed import DistInfo, all_reduce_sum, barrier, cleanup_distributed, convert_sync_batchnorm, init_distributed
from .embedding_cache import EmbeddingCache, default_cache_root
from .state import CSV_FILE, ResumeError, has_train_state, load_train_state, save_train_state, seed_everything, write_csv

log = logging.getLogger("autosam.training")


@dataclass
class TrainResult:
    out_dir: Path
    last: Path
    best: Path | None
    rows: list[dict[str, Any]]
    best_metrics: dict[str, Any] | None


class Trainer:
    """The epoch loop; subclasses change what is trained (see :class:`autosam.training.train_h.HTrainer`)."""

    kind = "g"
    val_mode = AUTOSAM

    def __init__(self, cfg: TrainConfig, resume: bool = False, command: str | None = None,
                 on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None) -> None:
        cfg.validate()
        self.cfg, self.resume, self.command, self.on_epoch_end = cfg, resume, command, on_epoch_end
        self.out = Path(cfg.out_dir)
        self.dist = DistInfo()
        self.g: nn.Module | None = None  # plain modules (what checkpoints save)
        self.h: nn.Module | None = None

    # ---- hooks for subclasses ---------------------------------------------------------------
    def backend_name(self) -> str:
        return self.cfg.backend

    def build_modules(self) -> nn.Module:
        """Create g (and h); return the trainable module."""
        with warnings.catch_warnings():
            if self.cfg.backbone_weights:
                warnings.simplefilter("ignore")
            self.g = build_g(self.cfg.g_config(), self.cfg.backbone_weights).to(self.device)
        return self.g

    def g_config(self) -> GConfig:
        return self.cfg.g_config()

    def base_model_config(self) -> ModelConfig:
        return ModelConfig(backend=self.backend.name, backend_sha256=self.backend.weights_sha256, g=self.g_config())

    def needs_embeddings(self) -> bool:
        return True

    def g_input(self, images: list) -> torch.Tensor | None:
        if getattr(self.g, "needs_image_embedding", False):
            return None
        return self.g.normalize(letterbox_images(images, self.g_config().input_size).to(self.device))

    def compute_loss(self, batch: dict[str, list], emb: torch.Tensor | None) -> torch.Tensor:
        target = letterbox_masks(batch["mask"], LOW_RES).to(self.device)
        with self.autocast():
            logits = self.autosam(self.g_input(batch["image"]), emb)
        return bce_dice_loss(logits.float(), target, self.cfg.loss_mode)

    # ---- setup --------------------------------------------------------------------------------
    def autocast(self):
        if self.device.type == "cuda" and self.cfg.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def _check_out_dir(self) -> None:
        if self.resume:
            if not has_train_state(self.out):
                raise ResumeError(f"--resume: no training state in {self.out}; start without --resume.")
            saved = type(self.cfg).load(self.out)
            diff = self.cfg.differences(saved)
            if diff:
                raise ResumeError(f"--resume: settings differ from the saved run in {self.out}: {', '.join(diff)}. "
                                  "Use the same settings (only epochs and run options may change).")
        elif has_train_state(self.out):
            raise ValueError(f"{self.out} already holds a training run: pass --resume to continue it, "
                             "or choose another --out-dir.")

    def _setup_data(self) -> None:
        cfg = self.cfg
        full = open_train_data(cfg.train_data)
        if cfg.val_data:
            self.train_ds, self.val_ds = full, open_data(cfg.val_data)
        else:
            tr, va = split_by_id(full, cfg.val_fraction, cfg.seed)
            self.train_ds, self.val_ds = full.subset(tr), (full.subset(va) if va else None)
        if cfg.max_train_samples:
            self.train_ds = self.train_ds.subset(range(min(cfg.max_train_samples, len(self.train_ds))))
        if self.val_ds is not None and cfg.max_val_samples:
            self.val_ds = self.val_ds.subset(range(min(cfg.max_val_samples, len(self.val_ds))))
        if len(self.train_ds) == 0:
            raise ValueError("The training set is empty.")
        if self.val_ds is None and self.dist.is_main:
            log.warning("No validation data (val_fraction 0, no --val-data): 'best' follows the training loss.")

    def setup(self) -> None:
        cfg = self.cfg
        self.dist, device = init_distributed(cfg.device)
        self.device = torch.device(device)
        world = self.dist.world_size
        if cfg.batch_size % world:
            raise ValueError(f"batch_size {cfg.batch_size} is the global batch: it must be a multiple of the "
                             f"{world} processes.")
        self.per_rank_batch = cfg.batch_size // world
        self._check_out_dir()
        seed_everything(cfg.seed)
        self.backend = create_backend(self.backend_name(), cfg.backend_checkpoint, device=device)
        self._setup_data()
        if cfg.augment != "none" and cfg.views == 1:
            log.warning("--augment %s with --views 1: every epoch uses the original images only; pass --views K "
                        "to precompute K-1 augmented views per image.", cfg.augment)
        self.trainable = self.build_modules()
        if self.dist.enabled and cfg.sync_bn:
            self.trainable = convert_sync_batchnorm(self.trainable, self.device)
            if self.kind == "g":
                self.g = self.trainable
        self.optimizer = torch.optim.Adam(self.trainable.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.cache = None
        if cfg.use_cache:
            root = Path(cfg.cache_dir).expanduser() if cfg.cache_dir else default_cache_root()
            if cfg.cache_dtype == "float32":
                root = root / "float32"  # the cache key ignores the dtype: never mix fp16 and fp32 entries
            self.cache = EmbeddingCache(root, self.backend,
                                        torch.float16 if cfg.cache_dtype == "float16" else torch.float32)
        self.embedder = Embedder(self.backend, self.cache)
        self.start_epoch, self.best, self.rows = 1, None, []
        if self.resume:
            info = load_train_state(self.out, self.trainable, self.optimizer)
            self.start_epoch, self.best, self.rows = info["epoch"] + 1, info["best"], info["rows"]
            log.info("Resuming %s after epoch %d.", self.out, info["epoch"])
        module: nn.Module = self.trainable
        if self.dist.enabled:
            module = nn.parallel.DistributedDataParallel(
                module, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        if cfg.compile:
            module = torch.compile(module)
        self.train_module = module
        if self.kind == "g":
            self.autosam = AutoSAM(module, self.backend)
        self.vds = ViewDataset(self.train_ds, cfg.augment)
        base = DistributedSampler(self.vds, num_replicas=world, rank=self.dist.rank, shuffle=True, seed=cfg.seed)
        self.sampler = ViewSampler(base, cfg.seed, cfg.views)
        self.generator = torch.Generator()
        self.loader = DataLoader(self.vds, batch_size=self.per_rank_batch, sampler=self.sampler,
                                 collate_fn=collate_views, num_workers=cfg.num_workers, generator=self.generator,
                                 pin_memory=self.device.type == "cuda")

    # ---- one epoch ------------------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> tuple[float, int, int]:
        from tqdm import tqdm

        self.sampler.set_epoch(epoch)
        self.generator.manual_seed(self.cfg.seed * 1_000_003 + epoch)
        self.train_module.train()
        loss_sum, n_sum, skipped = 0.0, 0, []
        bar = tqdm(self.loader, desc=f"{self.kind} epoch {epoch}/{self.cfg.epochs}", unit="batch",
                   disable=not (self.cfg.progress and self.dist.is_main), leave=False)
        for step, batch in enumerate(bar):
            for sid in batch["skipped"]:
                log.warning("epoch %d: skipped bad sample %s", epoch, sid)
            skipped += batch["skipped"]
            emb = self.embedder(batch["image"], batch["key"]) if self.needs_embeddings() else None
            loss = self.compute_loss(batch, emb)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"The loss is {loss.item()} at epoch {epoch}, step {step}: "
                                         "lower --lr or check the data.")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            n = len(batch["image"])
            loss_sum += float(loss.detach()) * n
            n_sum += n
            bar.set_postfix(loss=f"{loss_sum / n_sum:.4f}")
        bar.close()
        return loss_sum, n_sum, len(skipped)

    def trained_model(self) -> TrainedModel:
        return TrainedModel(self.base_model_config(), self.g, self.h)

    def validate(self) -> tuple[float, float, int] | None:
        """Mean (Dice, IoU, n) over the whole validation set (sharded over processes)."""
        if self.val_ds is None:
            return None
        shard = self.val_ds
        if self.dist.enabled:
            shard = self.val_ds.subset(range(self.dist.rank, len(self.val_ds), self.dist.world_size))
        pred = CachedPredictor(self.backend, self.trained_model(), embedding_cache=self.cache)
        res = evaluate(pred, shard, [self.val_mode], batch_size=max(1, min(self.per_rank_batch, 16)),
                       progress=False, ci=False)
        if self.cache is None:
            self.embedder.encoded += res.n_images
        d, j, n = all_reduce_sum([sum(r.dice for r in res.rows), sum(r.iou for r in res.rows), len(res.rows)],
                                 self.dist, self.device)
        return (d / n, j / n, int(n)) if n else None

    # ---- files ----------------------------------------------------------------------------------
    def model_config(self, epoch: int, metrics: dict[str, Any]) -> ModelConfig:
        cfg = copy.deepcopy(self.base_model_config())
        cfg.metadata = dict(cfg.metadata, **{
            "trained": self.kind,
            "command": self.command or "",
            "data": {"train": list(self.cfg.train_data), "n_train": len(self.train_ds),
                     "val": self.cfg.val_data or f"{self.cfg.val_fraction:g} of train (seed {self.cfg.seed})",
                     "n_val": len(self.val_ds) if self.val_ds is not None else 0},
            "epochs": epoch,
            "metrics": metrics,
            "best": self.best,
            "train_config": self.cfg.to_dict(),
        })
        return cfg

    def save_epoch(self, epoch: int, row: dict[str, Any], improved: bool) -> None:
        metrics = {k: row[k] for k in ("epoch", "train_loss", "val_dice", "val_iou")}
        save_checkpoint(self.out / "last.safetensors", self.model_config(epoch, metrics), self.g, self.h)
        if improved:
            save_checkpoint(self.out / "best.safetensors", self.model_config(epoch, metrics), self.g, self.h)
        info = {"kind": self.kind, "epoch": epoch, "best": self.best, "rows": self.rows,
                "config": self.cfg.to_dict(), "world_size": self.dist.world_size}
        save_train_state(self.out, self.trainable, self.optimizer, info)
        write_csv(self.out / CSV_FILE, self.rows)

    # ---- the run --------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        handler = None
        try:
            self.setup()
            if self.dist.is_main:
                self.out.mkdir(parents=True, exist_ok=True)
                self.cfg.save(self.out)
                handler = logging.FileHandler(self.out / "train.log")
                handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
                logging.getLogger("autosam").addHandler(handler)
            return self._loop()
        finally:
            if handler is not None:
                logging.getLogger("autosam").removeHandler(handler)
                handler.close()
            cleanup_distributed()

    def _loop(self) -> TrainResult:
        cfg = self.cfg
        if self.cache is not None and cfg.views > 1 and self.start_epoch == 1 and self.needs_embeddings():
            # Every view is encoded once up front, so no later epoch ever runs the encoder.
            idx = list(range(self.dist.rank, len(self.train_ds), self.dist.world_size))
            t0 = time.perf_counter()
            have, done = fill_cache(self.vds, idx, cfg.views, self.cache, self.per_rank_batch,
                                    cfg.progress and self.dist.is_main)
            log.info("Embedding cache: %d views present, %d encoded in %.1f s.", have, done, time.perf_counter() - t0)
            barrier(self.dist)
        if self.start_epoch > cfg.epochs:
            raise ValueError(f"Nothing to do: the run in {self.out} already finished {self.start_epoch - 1} epochs "
                             "(raise --epochs to continue it).")
        for epoch in range(self.start_epoch, cfg.epochs + 1):
            hits0, miss0 = self.embedder.hits, self.embedder.misses
            t0 = time.perf_counter()
            loss_sum, n_sum, n_skip = self.train_epoch(epoch)
            t1 = time.perf_counter()
            val = self.validate()
            t2 = time.perf_counter()
            loss_sum, n_sum, n_skip, hits, misses = all_reduce_sum(
                [loss_sum, n_sum, n_skip, self.embedder.hits - hits0, self.embedder.misses - miss0],
                self.dist, self.device)
            row = {"epoch": epoch, "train_loss": loss_sum / max(n_sum, 1),
                   "val_dice": val[0] if val else None, "val_iou": val[1] if val else None,
                   "seconds": round(t2 - t0, 3), "train_seconds": round(t1 - t0, 3), "val_seconds": round(t2 - t1, 3),
                   "cache_hits": int(hits), "cache_misses": int(misses), "skipped": int(n_skip)}
            # Every process computed the same reduced numbers, so all agree on "best".
            score = row["val_dice"] if val else -row["train_loss"]
            improved = self.best is None or score > self.best["score"]
            if improved:
                self.best = {"epoch": epoch, "score": score, "val_dice": row["val_dice"],
                             "val_iou": row["val_iou"], "train_loss": row["train_loss"]}
            self.rows.append(row)
            if self.dist.is_main:
                self.save_epoch(epoch, row, improved)
                log.info("epoch %d/%d: loss %.4f%s  (%.1f s, cache %d hit / %d miss%s)", epoch, cfg.epochs,
                         row["train_loss"], f"  val Dice {val[0]:.4f} IoU {val[1]:.4f}" if val else "",
                         row["seconds"], hits, misses, f", {n_skip} skipped" if n_skip else "")
            barrier(self.dist)
            if self.on_epoch_end is not None:
                self.on_epoch_end(epoch, row)
        best = self.out / "best.safetensors"
        return TrainResult(self.out, self.out / "last.safetensors", best if best.is_file() else None,
                           self.rows, self.best)


def train(cfg: TrainConfig, resume: bool = False, command: str | None = None,
          on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None) -> TrainResult:
    """Train g (see the module docstring); returns where the checkpoints are and the epoch rows."""
    return Trainer(cfg, resume=resume, command=command, on_epoch_end=on_epoch_end).run()


__all__ = ["TrainResult", "Trainer", "train"]
