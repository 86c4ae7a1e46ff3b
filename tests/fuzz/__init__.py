"""Adversarial fuzzing of every MXNet-implemented primitive against NumPy (issue #12, item 7)."""
