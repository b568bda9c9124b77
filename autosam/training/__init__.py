"""Training g (and h) through a frozen SAM back-end.

- :mod:`.config`: ``TrainConfig`` / ``TrainHConfig`` dataclasses (saved as JSON in the run folder).
- :mod:`.trainer`: ``train(cfg, resume=False)`` — BCE + Dice (paper Eq. 2–4), validation every
  epoch, ``best``/``last`` checkpoints, resumable state, CSV log, torchrun/DDP.
- :mod:`.train_h`: ``train_h(cfg)`` — the surrogate decoder h on a frozen g.
- :mod:`.embedding_cache`: exact on-disk cache of the frozen encoder's embeddings.
- :mod:`.data`, :mod:`.state`, :mod:`.distributed`: views, resumable state, process-group helpers.
"""
