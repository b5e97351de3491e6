"""One module per import job; see import/cli.py."""
