"""What commands do that is more than one runtime call: CI checks, promotions, corpus export, heal, generate, gc, demo scenarios.

The layer sits between the CLI and the runtime: it imports the runtime, the
runtime never imports it, and nothing here imports the CLI.
"""
