"""The LLM mutation engine (anthropic) and its parts: prompts, extraction, budget, cache."""

from sggit.engines.llm.budget import BudgetExhausted, DailyBudget
from sggit.engines.llm.engine import AnthropicEngine, AnthropicSettings, EngineUnavailable

__all__ = ["AnthropicEngine", "AnthropicSettings", "BudgetExhausted", "DailyBudget", "EngineUnavailable"]
