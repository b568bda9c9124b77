"""AutoSAM Gradio app. Run ``python app.py --help`` for options; on a Hugging Face Space this file
is the ``app_file``. Offline by default: LiteMedSAM back-end, best checkpoint in autosam/assets/."""
from __future__ import annotations

import logging
import sys


def main(argv: list[str] | None = None) -> int:
    from app import AppConfig, build_app, launch

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "huggingface_hub", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cfg = AppConfig.from_args(argv)
    if cfg.threads:
        import torch
        torch.set_num_threads(cfg.threads)
    try:
        demo, ctx = build_app(cfg)
    except (ValueError, RuntimeError, FileNotFoundError, OSError) as exc:
        print(f"error: the app could not start: {exc}", file=sys.stderr)
        return 1
    print(f"Back-end: {ctx.engine.backend_name} ({ctx.engine.backend.device}). {ctx.engine.model_status}",
          flush=True)
    _, local_url, share_url = launch(demo, cfg, prevent_thread_lock=True)
    print(f"AutoSAM app running at {local_url}" + (f" (public: {share_url})" if share_url else ""), flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
