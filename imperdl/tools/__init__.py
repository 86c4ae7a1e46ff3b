"""Command-line tools shipped with imperdl (``python -m imperdl.tools.<name>``)."""
