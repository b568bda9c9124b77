"""Parameter and MAC counts for g (the paper's and the actually-computed numbers)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..config import GConfig
from .backbones import SAM_EMBED, paper_param_count


def count_macs(model: nn.Module, *inputs: torch.Tensor, **kw) -> int:
    """Multiply-accumulates of conv, transposed-conv and linear layers for one forward pass."""
    total = 0

    def conv_hook(m: nn.Module, _inp, out: torch.Tensor) -> None:
        nonlocal total
        k = m.weight[0].numel()  # (cin/groups)·kh·kw for Conv2d
        if isinstance(m, nn.ConvTranspose2d):
            # Every input pixel scatters to cout·kh·kw outputs.
            total += _inp[0].numel() * m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]
        else:
            total += out.numel() * k

    def linear_hook(m: nn.Module, _inp, out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() * m.in_features

    hooks = []
    for mod in model.modules():
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
            hooks.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(linear_hook))
    try:
        with torch.no_grad():
            model(*inputs, **kw)
    finally:
        for h in hooks:
            h.remove()
    return total


@dataclass
class GProfile:
    backbone: str
    params_used: int  # what this implementation builds and trains
    params_paper: int  # as the paper counts (incl. HarDNet's unused last stage)
    macs_used: int  # at the given input size
    macs_paper: int  # incl. the unused stage, at the given input size
    input_size: int


def profile_g(cfg: GConfig, input_size: int = 256) -> GProfile:
    """Count g's parameters and MACs at ``input_size``² (random weights; counts need none)."""
    import warnings

    from .prompt_generator import build_g

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = build_g(cfg).eval()
    used = sum(p.numel() for p in g.parameters())
    if cfg.backbone == SAM_EMBED:
        emb = torch.zeros(1, cfg.embed_dim, cfg.embed_size, cfg.embed_size)
        macs = count_macs(g, None, image_embeddings=emb)
        return GProfile(cfg.backbone, used, used, macs, macs, input_size)
    x = torch.zeros(1, 3, input_size, input_size)
    macs = count_macs(g, x)
    full_bb = paper_param_count(cfg.backbone)
    paper_params, paper_macs = used, macs
    if full_bb is not None:
        paper_params = used - sum(p.numel() for p in g.backbone.parameters()) + full_bb
        paper_macs = macs + _unused_stage_macs(cfg.backbone, input_size)
    return GProfile(cfg.backbone, used, paper_params, macs, paper_macs, input_size)


def _unused_stage_macs(name: str, input_size: int) -> int:
    """MACs of the HarDNet layers after the stride-16 feature (computed upstream, never read)."""
    from .hardnet import HARDNET_ARCHS, _build_base

    arch = HARDNET_ARCHS[name]
    base = _build_base(arch, upto=None).eval()
    tail = nn.Sequential(*base[arch.feature_idx[-1] + 1:])
    s = input_size // 16
    x = torch.zeros(1, arch.feature_ch[-1], s, s)
    return count_macs(tail, x)
