"""Mutation engines: anthropic (LLM), gp (AST operators), fixture."""
