"""Property-based fuzzing of the whole /api/v1 surface from its own OpenAPI schema (schemathesis).

Every operation the schema documents gets generated valid and invalid input (bodies, query strings, path
ids, headers, undeclared methods); every response must be documented (status code, content type, headers,
body schema), none may be a 5xx, and input the schema forbids must be refused. The seed is fixed and the
number of examples bounded, so the run is the same on every machine and stays short.

Each operation runs against its own small world, rolled back afterwards: a completed task with two images
and a pending task, whose ids the generator uses half of the time (the rest are random ids of the right
shape, or of any shape when it tries invalid input). So deleting, cancelling, tagging and downloading
real things is fuzzed too, whatever order the tests run in.
"""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from generation.models import GenerationTask, Image

from .conftest import Api, run

COMPLETED = "0f0f0f0f-0000-4000-8000-000000000001"
PENDING = "0f0f0f0f-0000-4000-8000-000000000002"
IMAGES = ["img_0f0f0f0f000040008000000000000001", "img_0f0f0f0f000040008000000000000002"]

FUZZ = SchemathesisConfig.from_dict(
    {
        "seed": 7_2026,
        "generation": {"mode": "all", "max-examples": 50, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "dictionaries": {
            "tasks": {"values": [COMPLETED, PENDING]},
            "images": {"values": IMAGES},
            "image_lists": {"values": [",".join(IMAGES), IMAGES[0]]},
        },
        "parameters": {
            "path.task_id": {"dictionary": "tasks", "probability": 0.5},
            "path.item_id": {"dictionary": "tasks", "probability": 0.5},
            "path.image_id": {"dictionary": "images", "probability": 0.5},
            "query.ids": {"dictionary": "image_lists", "probability": 0.5},
        },
        # A valid-looking request to these may still be refused, and rightly: their rules cannot be written
        # in JSON Schema (a model's size, steps and scale ranges depend on the model; a tag must have text
        # left after Unicode normalisation, and so must a board's name; an uploaded reference must be a decodable
        # picture of a usable size). Every other check still runs on them.
        "operations": [
            {
                "include-operation-id": ["generate", "batch_create", "images_bulk", "image_tags_add", "image_tag_remove",
                                         "board_create", "board_rename", "reference_upload"],
                "checks": {"positive_data_acceptance": {"enabled": False}},
            }
        ],
    }
)

# Loaded at collection, from the schema the app serves (generating it touches no database).
# (A WSGIHandler, not imagegen.wsgi: that would run django.setup() again and reset the logging.)
# The event stream is served by imagegen.asgi's ASGI route (under bare WSGI it is a 503), so it is left to its
# own tests against the real server (tests/test_stream_*.py).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema", WSGIHandler(), config=FUZZ).exclude(operation_id="task_events")


@pytest.fixture
def world(db, media, settings):
    settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT = 1000
    api = Api()
    completed = api.generate(model="jimeng_t2i_v31", width=512, height=512, num_images=2, steps=None, scale=None,
                             negative_prompt="")
    run(completed)
    GenerationTask.objects.filter(task_id=completed).update(task_id=COMPLETED)
    for image, image_id in zip(Image.objects.order_by("id"), IMAGES, strict=True):
        Image.objects.filter(pk=image.pk).update(image_id=image_id)
    pending = api.generate()
    GenerationTask.objects.filter(task_id=pending).update(task_id=PENDING)


@schema.parametrize()
# The world is the test's for all its examples on purpose: what one example deletes, the next finds gone
# (a 404 it must document); it is rolled back before the next operation.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_answers_generated_input_as_documented(case, world):
    case.call_and_validate()
