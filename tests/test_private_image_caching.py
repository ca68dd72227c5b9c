"""Finding L3: in accounts mode an image is its owner's, so no shared cache (a CDN, a company proxy) may
keep it: `private`, and `Vary` on the credentials. In open mode everything is shared anyway, and images
stay publicly cacheable."""

from __future__ import annotations

import pytest

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .conftest import run

pytestmark = pytest.mark.django_db


def first_image(api) -> dict:
    task_id = api.generate(prompt="a private harbour")
    run(task_id)
    return api.get(f"task/{task_id}").json()["images"][0]


@pytest.mark.parametrize("which", ["url", "thumbnail_url"])
def test_in_accounts_mode_images_are_only_privately_cacheable_and_vary_by_credentials(accounts, media, which):
    alice = signed_in(make_user("alice"))
    image = first_image(alice)
    for response in (alice.client.get(image[which]),
                     alice.client.get(image[which], headers={"If-None-Match": f'"{image["sha256"]}"'})):
        assert response.status_code in (200, 304)
        directives = [d.strip() for d in response["Cache-Control"].split(",")]
        assert "private" in directives and "public" not in directives
        vary = {v.strip().lower() for v in response["Vary"].split(",")}
        assert {"cookie", "authorization"} <= vary


def test_in_open_mode_images_stay_publicly_cacheable(api, media):
    image = first_image(api)
    response = api.client.get(image["url"])
    assert response["Cache-Control"].startswith("public")
