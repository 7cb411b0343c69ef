"""The .sg contract language. This package imports nothing else of sggit."""
