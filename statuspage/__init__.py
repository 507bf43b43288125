"""The public status page generator: filled by the status page issue."""
