"""The EngineRequest a run sends (TaskRun._engine_request): every field from the task row, the model's
action from the catalogue ("sync" for a model no longer offered), a concrete seed, the negative prompt only
where the model takes one."""

import pytest

from generation.engines.base import EngineRequest
from generation.models import GenerationTask

from .conftest import run

pytestmark = pytest.mark.django_db

ROW = dict(prompt="a lighthouse at dusk", negative_prompt="dull", ignored_params=[], width=800, height=600,
           upstream_width=400, upstream_height=300, use_sr=True, num_images=3, steps=31, scale=4.5, seed=77,
           enhance_prompt=True, upstream_task_id="up-9", group=True)


def request_for(api, scripted, model: str, **row) -> EngineRequest:
    engine = scripted("ok")
    task_id = api.generate()
    GenerationTask.objects.filter(task_id=task_id).update(model=model, **{**ROW, **row})
    run(task_id)
    (request,) = engine.calls
    return request


def test_every_field_of_the_request_comes_from_the_task(api, media, scripted):
    assert request_for(api, scripted, "high_aes_general_v30l_zt2i") == EngineRequest(
        model="high_aes_general_v30l_zt2i", action="sync", prompt="a lighthouse at dusk", negative_prompt="dull",
        width=800, height=600, upstream_width=400, upstream_height=300, use_sr=True, num_images=3, steps=31,
        scale=4.5, seed=77, enhance_prompt=True, upstream_task_id="up-9", reference_images=(), group=True)


def test_the_other_values_of_each_field_reach_the_engine_too(api, media, scripted):
    request = request_for(api, scripted, "high_aes_general_v30l_zt2i", use_sr=False, enhance_prompt=False, group=False,
                          upstream_task_id="", num_images=1, steps=None, scale=None, negative_prompt="",
                          seed=0)
    assert (request.use_sr, request.enhance_prompt, request.group, request.upstream_task_id) == (
        False, False, False, "")
    assert (request.num_images, request.steps, request.scale, request.negative_prompt, request.seed) == (
        1, None, None, None, 0)


def test_an_async_model_is_asked_asynchronously(api, media, scripted):
    request = request_for(api, scripted, "jimeng_t2i_v31")
    assert (request.model, request.action) == ("jimeng_t2i_v31", "async")


def test_a_model_no_longer_in_the_catalogue_is_asked_synchronously(api, media, scripted):
    request = request_for(api, scripted, "retired_model_v1")
    assert (request.model, request.action) == ("retired_model_v1", "sync")


def test_a_task_without_a_seed_sends_seed_zero(api, media, scripted):
    assert request_for(api, scripted, "high_aes_general_v30l_zt2i", seed=None).seed == 0


def test_a_negative_prompt_the_model_ignores_is_not_sent(api, media, scripted):
    request = request_for(api, scripted, "high_aes_general_v30l_zt2i", ignored_params=["negative_prompt"])
    assert request.negative_prompt is None and request.prompt == "a lighthouse at dusk"
