"""Planning a build: selection rules, split assignment and clip pairing (metadata only)."""

from avsynth.planning.plan import Plan, PlannedTriplet
from avsynth.planning.planner import make_plan
from avsynth.planning.select import SKIP_REASONS, SelectionConfig

__all__ = ["SKIP_REASONS", "Plan", "PlannedTriplet", "SelectionConfig", "make_plan"]
