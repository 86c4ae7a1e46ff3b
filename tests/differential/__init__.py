"""Differential tests: every primitive with an MXNet implementation, checked against real NumPy under each policy.

``test_differential.py`` runs the CASES of every ``cases_*.py`` module here; ``strategies.py`` holds the shared
hypothesis helpers those modules draw their arguments with.
"""
