"""sggit: a Git-native Software Genomics runtime."""

__version__ = "0.1.0"
