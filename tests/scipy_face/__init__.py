"""Tests of imperdl.scipy. Not named `scipy`: with tests/ on sys.path, a package of that name would shadow SciPy."""
