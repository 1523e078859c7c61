"""Synthetic landing-zone generator (SPEC §9): `generate(out, scale, seed, ...)`."""

from orchestration.generator.core import DEFAULT_END_DATE, GenerationResult, generate
from orchestration.generator.dirty import REASONS, dirty_count

__all__ = ["DEFAULT_END_DATE", "REASONS", "GenerationResult", "dirty_count", "generate"]
