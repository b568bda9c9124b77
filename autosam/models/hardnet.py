"""HarDNet backbones (Chao et al., ICCV 2019), layer-for-layer as in the official AutoSAM code.

The official g builds HarDNet up to its last stage and returns features at strides 2…32, but its
decoder reads only strides 4, 8 and 16. We build the network only up to the stride-16 output, so
no compute is spent on the unused stage; ``full_param_count`` still reports the paper's number.
Layer names match the upstream ``base.N`` indexing so ImageNet checkpoints load unchanged.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn


@dataclass(frozen=True)
class HarDNetArch:
    first_ch: tuple[int, int]
    ch_list: tuple[int, ...]
    growth: tuple[int, ...]
    n_layers: tuple[int, ...]
    down_samp: tuple[int, ...]
    grmul: float
    depthwise: bool
    # base indices whose outputs are the stride-4, 8 and 16 features (upstream ``self.list[1:4]``)
    feature_idx: tuple[int, int, int]
    feature_ch: tuple[int, int, int]
    weights_file: str  # upstream ImageNet checkpoint name (the upstream URL is dead)


HARDNET_ARCHS: dict[str, HarDNetArch] = {
    "hardnet85": HarDNetArch((48, 96), (192, 256, 320, 480, 720, 1280), (24, 24, 28, 36, 48, 256),
                             (8, 16, 16, 16, 16, 4), (1, 0, 1, 0, 1, 0), 1.7, False,
                             (4, 9, 14), (192, 320, 720), "hardnet85-a28faa00.pth"),
    "hardnet68": HarDNetArch((32, 64), (128, 256, 320, 640, 1024), (14, 16, 20, 40, 160),
                             (8, 16, 16, 16, 4), (1, 0, 1, 1, 0), 1.7, False,
                             (4, 9, 12), (128, 320, 640), "hardnet68-5d684880.pth"),
    "hardnet39ds": HarDNetArch((24, 48), (96, 320, 640, 1024), (16, 20, 64, 160),
                               (4, 16, 8, 4), (1, 1, 1, 0), 1.6, True,
                               (4, 7, 10), (96, 320, 640), "hardnet39ds-0e6c6fa9.pth"),
}


class ConvLayer(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1) -> None:
        super().__init__()
        self.add_module("conv", nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False))
        self.add_module("norm", nn.BatchNorm2d(cout))
        self.add_module("relu", nn.ReLU6(True))


class DWConvLayer(nn.Sequential):
    def __init__(self, ch: int, stride: int = 1) -> None:
        super().__init__()
        self.add_module("dwconv", nn.Conv2d(ch, ch, 3, stride, 1, groups=ch, bias=False))
        self.add_module("norm", nn.BatchNorm2d(ch))


class CombConvLayer(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.add_module("layer1", ConvLayer(cin, cout, kernel=1))
        self.add_module("layer2", DWConvLayer(cout))


def _link(layer: int, base_ch: int, growth: int, grmul: float) -> tuple[int, int, list[int]]:
    """Harmonic dense connectivity: layer k reads layers k - 2^i (upstream ``get_link``)."""
    if layer == 0:
        return base_ch, 0, []
    out_ch = growth
    link = []
    for i in range(10):
        dv = 2 ** i
        if layer % dv == 0:
            link.append(layer - dv)
            if i > 0:
                out_ch *= grmul
    out_ch = int(int(out_ch + 1) / 2) * 2
    in_ch = sum(_link(i, base_ch, growth, grmul)[0] for i in link)
    return out_ch, in_ch, link


class HarDBlock(nn.Module):
    def __init__(self, cin: int, growth: int, grmul: float, n_layers: int, dwconv: bool) -> None:
        super().__init__()
        self.links: list[list[int]] = []
        layers = []
        self.out_channels = 0
        for i in range(n_layers):
            out_ch, in_ch, link = _link(i + 1, cin, growth, grmul)
            self.links.append(link)
            layers.append(CombConvLayer(in_ch, out_ch) if dwconv else ConvLayer(in_ch, out_ch))
            if i % 2 == 0 or i == n_layers - 1:
                self.out_channels += out_ch
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [x]
        for layer, link in zip(self.layers, self.links):
            tin = [outs[i] for i in link]
            outs.append(layer(torch.cat(tin, 1) if len(tin) > 1 else tin[0]))
        t = len(outs)
        return torch.cat([outs[i] for i in range(t) if i == t - 1 or i % 2 == 1], 1)


def _build_base(arch: HarDNetArch, upto: int | None) -> nn.ModuleList:
    """Upstream ``base`` list, truncated after index ``upto`` (None: everything but the classifier)."""
    mods: list[nn.Module] = [
        ConvLayer(3, arch.first_ch[0], kernel=3, stride=2),
        ConvLayer(arch.first_ch[0], arch.first_ch[1], kernel=1 if arch.depthwise else 3),
        DWConvLayer(arch.first_ch[1], stride=2) if arch.depthwise else nn.MaxPool2d(3, 2, 1),
    ]
    ch = arch.first_ch[1]
    blks = len(arch.n_layers)
    for i in range(blks):
        blk = HarDBlock(ch, arch.growth[i], arch.grmul, arch.n_layers[i], arch.depthwise)
        mods.append(blk)
        if i == blks - 1 and len(arch.n_layers) == 6:  # HarDNet-85 has a dropout before its last 1×1
            mods.append(nn.Dropout(0.1))
        mods.append(ConvLayer(blk.out_channels, arch.ch_list[i], kernel=1))
        ch = arch.ch_list[i]
        if arch.down_samp[i]:
            mods.append(DWConvLayer(ch, stride=2) if arch.depthwise else nn.MaxPool2d(2, 2))
    if upto is not None:
        mods = mods[: upto + 1]
    return nn.ModuleList(mods)


class HarDNetFeatures(nn.Module):
    """HarDNet returning the stride-4, 8, 16 features; nothing after stride 16 is built."""

    def __init__(self, name: str, weights: str | os.PathLike | None = None) -> None:
        super().__init__()
        self.arch = HARDNET_ARCHS[name]
        self.name = name
        self.base = _build_base(self.arch, upto=self.arch.feature_idx[-1])
        self.out_channels = list(self.arch.feature_ch)
        if weights:
            self.load_imagenet(weights)
        else:
            warnings.warn(
                f"{name}: no ImageNet weights given, g's backbone is RANDOMLY INITIALISED. The paper "
                f"starts from ImageNet ({self.arch.weights_file}; its upstream URL is dead). Pass "
                "--backbone-weights FILE_OR_URL to use them; expect lower accuracy without.",
                stacklevel=2,
            )

    def load_imagenet(self, src: str | os.PathLike) -> None:
        """Load upstream ImageNet weights (file or URL). Unused-stage and classifier keys are skipped."""
        src = str(src)
        if src.startswith(("http://", "https://")):
            state = torch.hub.load_state_dict_from_url(src, map_location="cpu", weights_only=True)
        else:
            if not Path(src).is_file():
                raise FileNotFoundError(f"HarDNet weights file {src} does not exist.")
            if src.endswith(".safetensors"):
                from safetensors.torch import load_file
                state = load_file(src)
            else:
                state = torch.load(src, map_location="cpu", weights_only=True)
        own = self.state_dict()
        kept = {}
        for k, v in state.items():
            k2 = k if k.startswith("base.") else f"base.{k}"
            if k2 in own:
                if own[k2].shape != v.shape:
                    raise RuntimeError(f"{src}: {k2} has shape {tuple(v.shape)}, {self.name} expects "
                                       f"{tuple(own[k2].shape)} — is this a {self.name} checkpoint?")
                kept[k2] = v
        missing = set(own) - set(kept)
        if missing:
            raise RuntimeError(f"{src} lacks {len(missing)} {self.name} tensors, e.g. {sorted(missing)[:3]}.")
        self.load_state_dict(kept)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for i, layer in enumerate(self.base):
            x = layer(x)
            if i in self.arch.feature_idx:
                feats.append(x)
        return feats


def full_param_count(name: str) -> int:
    """Parameters of the whole backbone without the classifier — what the paper counts."""
    with torch.device("meta"):
        base = _build_base(HARDNET_ARCHS[name], upto=None)
    return sum(p.numel() for p in base.parameters())
