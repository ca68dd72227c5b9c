"""State changes from a browser need the CSRF token; API clients without cookies do not."""

import json

import pytest
from django.test import Client

from generation.models import GenerationTask

from .conftest import SEED_EXAMPLE, run

pytestmark = pytest.mark.django_db


def browser_with_token():
    client = Client(enforce_csrf_checks=True)
    client.get("/")  # the page sets the csrftoken cookie
    return client, client.cookies["csrftoken"].value


def test_a_browser_request_without_the_token_is_refused(db):
    client, _token = browser_with_token()
    response = client.post("/api/v1/generate", json.dumps(SEED_EXAMPLE), content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert GenerationTask.objects.count() == 0


def test_a_browser_request_with_the_token_goes_through(db):
    client, token = browser_with_token()
    response = client.post("/api/v1/generate", json.dumps(SEED_EXAMPLE), content_type="application/json",
                           headers={"X-CSRFToken": token})
    assert response.status_code == 201


def test_an_api_client_without_cookies_needs_no_token(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/generate", json.dumps(SEED_EXAMPLE), content_type="application/json")
    assert response.status_code == 201


def test_deleting_an_image_from_a_browser_needs_the_token(api, media):
    task_id = api.generate()
    run(task_id)
    image_id = GenerationTask.objects.get(task_id=task_id).images.get().image_id
    client, token = browser_with_token()
    assert client.delete(f"/api/v1/images/{image_id}").status_code == 403
    assert client.delete(f"/api/v1/images/{image_id}", headers={"X-CSRFToken": token}).status_code == 204
