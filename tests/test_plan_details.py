"""Details of request planning (generation/planning.py) that its mutants showed no test held."""

from generation.planning import plan_generation


def test_the_default_request_plans_the_default_model_at_its_default_size():
    plan = plan_generation({"prompt": "a lighthouse"})
    assert plan.model.id and plan.width > 0 and plan.height > 0
