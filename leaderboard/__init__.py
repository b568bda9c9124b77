"""AutoSAM leaderboard: results store, paper seeds, submissions checks, Hub sync, tables and plots.

Laid out like the Hugging Face leaderboard template: ``about`` (texts), ``display`` (tables and
figures), ``store`` (SQLite results/submissions), ``submission`` (checks before queueing),
``hub_sync`` (optional JSON mirror on the Hub). The evaluation harness and the worker build on
``store.ResultsStore.claim_next / heartbeat / finish / fail``.
"""
