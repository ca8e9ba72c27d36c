"""Study files: schema, loading, and expansion into a plan."""

from gansweep.study.load import dump_study, load_study, study_from_data
from gansweep.study.plan import Cell, Plan, PlanEntry, build_plan
from gansweep.study.schema import Study

__all__ = ["Cell", "Plan", "PlanEntry", "Study", "build_plan", "dump_study", "load_study", "study_from_data"]
