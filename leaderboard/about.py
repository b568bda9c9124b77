"""Texts shown by the leaderboard app (HF leaderboard template: ``about.py``)."""
from __future__ import annotations

TITLE = "AutoSAM medical segmentation leaderboard"

INTRODUCTION_TEXT = """\
AutoSAM keeps SAM frozen and replaces its prompt with a dense embedding produced by a small
network g (the prompt generator). This leaderboard compares trained g networks on the paper's
benchmarks. Every number is either **reported** (copied from a paper, unverified) or **verified**
(recomputed here by our evaluation harness from submitted safetensors weights, with a 95%
bootstrap confidence interval and the full protocol recorded next to it).
"""

PROTOCOL_TEXT = """\
## Evaluation protocol

**Common to all benchmarks.** The submitted g is loaded strictly into our own classes (no
submitted code runs) and plugged into the frozen back-end named in its config; the back-end's
weight hash must match the config's `backend_sha256`. SAM's low-resolution logits are resized
to the original image size, passed through a sigmoid and **thresholded at 0.5**. Every verified
row records the back-end and its weight hash, g's input size, the threshold, a fingerprint of
the test set, the code version, the date and the hardware. Scores are reported as fractions
in [0, 1] (Tables 1-2 of the paper print percentages; they are converted).

**Image benchmarks (Tables 1-2).** Per test image, with P the binary prediction and G the
ground-truth mask (binarised at >127, or >0 for 0/1 masks):
Dice = 2|P∩G| / (|P| + |G|), IoU = |P∩G| / |P∪G|. The table shows the mean over test images
(mDice, mIoU) with a 95% bootstrap CI over images.

| Benchmark | Test images | Notes |
|---|---|---|
| MoNuSeg | 14 | nuclei; the paper trains on 30 images, resized to 512×512 |
| GlaS | 80 | glands (85 training images); resized to 224×224 in the paper |
| Kvasir | 100 | PraNet split; train = Kvasir 900 + ClinicDB 550 |
| ClinicDB | 62 | PraNet split |
| ColonDB | 380 | unseen during training |
| ETIS | 196 | unseen during training |

**Video benchmarks (Table 3, SUN-SEG Easy-Unseen 86 clips / Hard-Unseen 37 clips).** Scored as
in the VPS evaluator (GewelsJI/VPS `eval/vps_evaluator.py`): frames sorted numerically per clip,
the first and last frame of every clip dropped; prediction resized to the GT size (bilinear) and
min-max normalised, GT binarised at >128. Metrics: S-measure (α = 0.5), mean E-measure,
weighted F-measure (β² = 1), mean F-measure (β² = 0.3), max Dice and mean Sensitivity, each
over 256 thresholds; averaged over frames within a clip, then over clips.

**Input sizes.** g reads the image at its configured `input_size` (the paper: 256×256,
25.11 GMACs, 41.56M parameters for the HarDNet-85 g). The back-end reads its own input size:
1024×1024 for SAM ViT-H/L/B, 256×256 for LiteMedSAM. The paper used SAM ViT-H; a row's
back-end is shown with it, and rows with different back-ends are not directly comparable.
"""

REPRODUCE_TEXT = """\
## Reproduce a row

```bash
pip install -e .
python -m leaderboard.evaluate --checkpoint runs/kvasir/model.safetensors \\
    --benchmarks kvasir clinicdb colondb etis
```

The checkpoint is `NAME.safetensors` (tensors `g.*`, optional `h.*`) with `NAME.json` next to it
(the model config). The command prints the same table, writes per-image scores, and records the
protocol; numbers should match the leaderboard within the CI.
"""

SUBMIT_TEXT = """\
## Submit a model

Upload the `.safetensors` weights (at most 200 MB; pickled `.pt/.pth/.ckpt/.bin` files are
refused) and the JSON config saved with them. Before queueing we check that the config parses,
the back-end is known and its weight hash matches, the weights load strictly into AutoSAM's own
classes, and that the same weights were not submitted already. Each user may submit 5 models
per 24 hours. Failed evaluations show their reason and the end of the log.
"""

CITATION_BUTTON_LABEL = "If you use these results, please cite the AutoSAM paper:"

CITATION_BUTTON_TEXT = r"""@article{shaharabany2023autosam,
  title   = {AutoSAM: Adapting SAM to Medical Images by Overloading the Prompt Encoder},
  author  = {Shaharabany, Tal and Dahan, Aviad and Giryes, Raja and Wolf, Lior},
  journal = {arXiv preprint arXiv:2306.06370},
  year    = {2023}
}"""
