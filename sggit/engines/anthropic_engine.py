"""The anthropic engine under the name the design uses; it lives in `sggit.engines.llm`."""

from sggit.engines.llm import AnthropicEngine, AnthropicSettings, BudgetExhausted, EngineUnavailable

__all__ = ["AnthropicEngine", "AnthropicSettings", "BudgetExhausted", "EngineUnavailable"]
