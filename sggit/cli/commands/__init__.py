"""One module per command area; each exposes `COMMANDS`, a list of click commands."""
