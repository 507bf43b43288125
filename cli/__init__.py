"""The `omni` command line."""
