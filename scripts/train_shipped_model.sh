#!/usr/bin/env bash
# Reproduces the AutoSAM model shipped in autosam/assets/ (see autosam/assets/MODEL_CARD.md).
# Needs the real polyp data: $AUTOSAM_DATA_ROOT (default ../shared/data) with kvasir/{train,test}
# and clinicdb/train. CPU only; about 1 h on 2 cores once the embedding cache is filled.
set -euo pipefail
CACHE=${AUTOSAM_EMBED_CACHE:-$HOME/.cache/autosam/embeddings}
RUN=${RUN:-runs/lite_polyp_g}
EPOCHS=${EPOCHS:-10}

# 1. g: the light sam_embed g through frozen LiteMedSAM, on Kvasir 900 + ClinicDB 550
#    (10% held out by a seeded split for model selection). Epoch 1 fills the embedding cache.
autosam train --data polyp_train --backend lite_medsam --backbone sam_embed --val-fraction 0.1 \
  --epochs "$EPOCHS" --batch-size 8 --lr 3e-4 --cache-dir "$CACHE" --seed 0 --out-dir "$RUN"

# 2. h on the frozen g (paper: Adam 3e-4, wd 1e-5, batch 24).
autosam train-h --checkpoint "$RUN/best.safetensors" --data polyp_train --val-fraction 0.1 \
  --epochs "${H_EPOCHS:-5}" --batch-size 24 --cache-dir "$CACHE" --seed 0 --out-dir "${RUN}_h"

# 3. Score on kvasir/test (never used for training or selection), all Table 1 methods.
python -m leaderboard.evaluate --checkpoint "${RUN}_h/best.safetensors" --benchmarks kvasir \
  --methods autosam h sam_point sam_box sam_mask autosam_mask \
  --display-name "AutoSAM (LiteMedSAM, sam_embed g)" --json "${RUN}_h/kvasir_test.json"
