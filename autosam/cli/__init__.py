"""The `autosam` command line; see main.py."""
