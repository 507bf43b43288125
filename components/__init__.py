"""One ComponentResource per capability of the Omni platform."""
