"""Options the tests share: small, quick predictors (the figures in the docs use the defaults)."""

FAST = {"iterations": 80, "learning_rate": 0.2, "n_models": 1, "thread_count": 2}
