"""Planning a build: selection rules, split assignment and clip pairing (metadata only)."""

from avsynth.planning.planner import Plan, PlannedTriplet, make_plan
from avsynth.planning.select import SKIP_REASONS, SelectionConfig

__all__ = ["SKIP_REASONS", "Plan", "PlannedTriplet", "SelectionConfig", "make_plan"]
