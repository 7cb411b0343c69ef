"""Static HTML and markdown rendering: PR bodies, the genome report."""
