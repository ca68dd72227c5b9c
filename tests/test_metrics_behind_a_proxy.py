"""Finding L7: behind a proxy on the same host every connection comes from 127.0.0.1; the /metrics
network allowlist must judge the client the proxy names (IMAGEGEN_NUM_PROXIES), not the proxy itself."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.settings import api_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def behind_nginx(settings):
    settings.IMAGEGEN_NUM_PROXIES = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    api_settings.reload()
    yield
    api_settings.reload()


def test_a_remote_client_relayed_by_a_local_proxy_is_refused(behind_nginx):
    relayed = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert relayed.get("/metrics").status_code == 403


def test_a_client_cannot_claim_a_loopback_address_in_x_forwarded_for(behind_nginx):
    # nginx appends the real address: "<what the client sent>, <the client's address>"
    spoofed = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.9")
    assert spoofed.get("/metrics").status_code == 403


def test_a_local_scraper_through_the_proxy_is_allowed(behind_nginx):
    local = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert local.get("/metrics").status_code == 200


def test_without_a_proxy_the_connecting_address_decides_and_x_forwarded_for_is_ignored():
    assert Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1").get("/metrics").status_code == 403
