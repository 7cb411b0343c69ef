"""The organism: sandboxed execution, arena, pathways, topologies, fusion."""
