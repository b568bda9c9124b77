"""`autosam models`: the back-ends and g backbones this install knows (like timm.list_models)."""
from __future__ import annotations

import argparse
import json
import warnings

from rich.console import Console
from rich.table import Table


def _fmt_m(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:.2f}M"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list SAM back-ends and g backbones (params, MACs, weights)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--input-size", type=int, default=256, help="g input size for MACs (default 256)")
    p.add_argument("--timm", nargs="*", default=[], metavar="NAME",
                   help="also profile these timm models as g backbones (e.g. resnet18)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from autosam.backends import list_backends
    from autosam.config import GConfig
    from autosam.models import list_backbones, profile_g

    backends = list_backends()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        names = list_backbones() + [f"timm:{n}" for n in args.timm]
        profiles = [profile_g(GConfig(backbone=n), args.input_size) for n in names]
    if args.json:
        print(json.dumps({"backends": [b.__dict__ for b in backends],
                          "g_backbones": [p.__dict__ for p in profiles]}, indent=2))
        return 0
    console = Console()
    t = Table(title="Frozen SAM back-ends")
    for col in ("name", "input", "params", "weights local", "description"):
        t.add_column(col)
    for b in backends:
        t.add_row(b.name, f"{b.input_size}²", _fmt_m(b.params), "yes" if b.weights_present else "no",
                  b.description)
    console.print(t)
    t = Table(title=f"g backbones (g = backbone + decoder; MACs at {args.input_size}², conv/linear)")
    for col in ("backbone", "params (paper count)", "params (used)", "GMACs (paper)", "GMACs (used)"):
        t.add_column(col)
    for p in profiles:
        t.add_row(p.backbone, _fmt_m(p.params_paper), _fmt_m(p.params_used),
                  f"{p.macs_paper / 1e9:.2f}", f"{p.macs_used / 1e9:.2f}")
    console.print(t)
    console.print("sam_embed reads the back-end's image embedding (64×64) instead of pixels; "
                  "the paper's 'params' include HarDNet's last stage, which g never reads.")
    return 0
