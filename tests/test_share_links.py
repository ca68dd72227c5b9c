"""Share links (issue 24, item 2): a read-only public link to an image, a task or a board — unguessable,
revocable, with an optional expiry, the prompt shown or hidden everywhere (page, file name, the PNG's
metadata) — that shows only what it names, is never cached publicly, and stops at once when revoked,
expired or its target is deleted. Accounts mode: another user's things cannot be shared, nor their links
seen or revoked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from gallery.models import ShareLink
from generation.imaging import read_png_parameters

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .conftest import run

pytestmark = pytest.mark.django_db


def finished(api, **body) -> dict:
    task_id = api.generate(**body)
    run(task_id)
    return api.get(f"task/{task_id}").json()


def share(api, kind: str, target_id: str, **options) -> dict:
    response = api.post("shares", {"kind": kind, "target_id": target_id, **options})
    assert response.status_code == 201, response.content
    return response.json()


def public(url: str, **headers):
    return Client(HTTP_HOST="127.0.0.1").get(url, **headers)


def test_a_link_to_an_image_shows_that_image_with_its_prompt_and_counts_views(api, media):
    task = finished(api, prompt="a shared lighthouse", num_images=2, model="high_aes_general_v20")
    shown, hidden = task["images"]
    link = share(api, "image", shown["image_id"])
    assert link["url"].startswith("/s/") and len(link["url"]) > 30 and link["live"] and link["views"] == 0
    page = public(link["url"])
    assert page.status_code == 200
    body = page.content.decode()
    assert "a shared lighthouse" in body and shown["image_id"] in body and hidden["image_id"] not in body
    assert page["Cache-Control"] == "private, no-store" and "noindex" in page["X-Robots-Tag"]
    assert '<meta name="robots" content="noindex, nofollow">' in body
    original = public(f"{link['url']}/{shown['image_id']}")
    assert original.status_code == 200 and original["Cache-Control"] == "private, no-store"
    assert "a shared lighthouse" in read_png_parameters(original.content)
    # Only what the link names: the task's other image is not reachable through it.
    assert public(f"{link['url']}/{hidden['image_id']}").status_code == 404
    assert api.get("shares").json()[0]["views"] == 1


def test_a_hidden_prompt_is_hidden_on_the_page_in_the_file_name_and_in_the_png(api, media):
    task = finished(api, prompt="a secret recipe for soup", model="high_aes_general_v20")
    image = task["images"][0]
    link = share(api, "task", task["task_id"], show_prompt=False)
    page = public(link["url"]).content.decode()
    assert "secret recipe" not in page
    download = public(f"{link['url']}/{image['image_id']}?download=1")
    assert "secret" not in download["Content-Disposition"] and "attachment" in download["Content-Disposition"]
    assert read_png_parameters(download.content) is None
    assert b"secret" not in download.content
    # The owner's own copy keeps its parameters.
    own = api.client.get(image["url"])
    assert "secret recipe" in read_png_parameters(b"".join(own.streaming_content))


def test_a_board_link_shows_the_boards_images_as_they_are_now(api, media):
    a, b = (img["image_id"] for img in finished(api, num_images=2)["images"])
    board = api.post("boards", {"name": "Shared board"}).json()
    api.post(f"boards/{board['board_id']}/images", {"image_ids": [a]})
    link = share(api, "board", board["board_id"])
    assert a in public(link["url"]).content.decode() and b not in public(link["url"]).content.decode()
    api.post(f"boards/{board['board_id']}/images", {"image_ids": [b]})
    assert b in public(link["url"]).content.decode()


def test_revoking_expiry_and_deleting_the_target_end_the_link_at_once(api, media):
    task = finished(api)
    image = task["images"][0]["image_id"]
    revoked, expiring, deleted = (share(api, "image", image, expires_in_days=1 if n == 1 else None) for n in range(3))
    assert public(revoked["url"]).status_code == 200
    response = api.delete(f"shares/{revoked['share_id']}")
    assert response.status_code == 200 and response.json()["live"] is False
    assert public(revoked["url"]).status_code == 404
    assert public(f"{revoked['url']}/{image}").status_code == 404
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        assert public(expiring["url"]).status_code == 404
    assert public(expiring["url"]).status_code == 200
    assert api.delete(f"task/{task['task_id']}").status_code == 204
    gone = public(deleted["url"])
    assert gone.status_code == 404 and "no longer works" in gone.content.decode()


@pytest.mark.parametrize("url", ["/s/short", "/s/" + "x" * 40, "/s/" + "x" * 40 + "/img_" + "0" * 32])
def test_unknown_links_are_not_found(db, url):
    assert public(url).status_code == 404


@pytest.mark.parametrize("body", [
    {"kind": "image", "target_id": "img_" + "0" * 32},
    {"kind": "task", "target_id": "not-a-task"},
    {"kind": "board", "target_id": "board_" + "0" * 32},
])
def test_a_link_to_something_missing_is_not_made(api, body):
    assert api.post("shares", body).status_code == 404
    assert ShareLink.objects.count() == 0


@pytest.mark.parametrize("body", [{"kind": "album", "target_id": "x"}, {"kind": "image"},
                                  {"kind": "image", "target_id": "x", "expires_in_days": 0},
                                  {"kind": "image", "target_id": "x", "show_prompt": "yes"}])
def test_bad_requests_get_a_clear_error(api, body):
    response = api.post("shares", body)
    assert response.status_code == 400 and response.json()["error"] == "validation_error"


def test_in_accounts_mode_only_the_owner_can_share_see_or_revoke(accounts, media):
    alice, bob = signed_in(make_user("alice")), signed_in(make_user("bob"))
    task = finished(alice, prompt="alice's garden")
    image = task["images"][0]["image_id"]
    assert bob.post("shares", {"kind": "image", "target_id": image}).status_code == 404
    assert bob.post("shares", {"kind": "task", "target_id": task["task_id"]}).status_code == 404
    link = share(alice, "image", image)
    assert bob.get("shares").json() == []
    assert bob.delete(f"shares/{link['share_id']}").status_code == 404
    # Someone signed out opens the link: the page, not the sign-in page.
    anonymous = public(link["url"])
    assert anonymous.status_code == 200 and "alice&#x27;s garden" in anonymous.content.decode()
    assert public(f"{link['url']}/{image}/thumbnail").status_code == 200
    # The link shows only its image: alice's other things stay private.
    assert public(task["images"][0]["url"]).status_code == 401


def test_staff_see_and_can_revoke_every_link_in_the_console(accounts, media, client):
    alice = signed_in(make_user("alice"))
    link = share(alice, "image", finished(alice)["images"][0]["image_id"])
    staff = make_user("root", staff=True)
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    page = client.get("/admin/gallery/sharelink/").content.decode()
    assert link["share_id"] in page and link["url"] not in page  # the token stays its owner's
    pk = ShareLink.objects.get(share_id=link["share_id"]).pk
    client.post("/admin/gallery/sharelink/", {"action": "revoke_links", "_selected_action": [str(pk)]})
    assert public(link["url"]).status_code == 404


def test_the_account_page_counts_the_working_links_and_leads_to_them(accounts, media):
    alice = signed_in(make_user("alice"))
    image = finished(alice)["images"][0]["image_id"]
    first, second = share(alice, "image", image), share(alice, "image", image)
    alice.delete(f"shares/{first['share_id']}")
    bob = signed_in(make_user("bob"))
    share(bob, "image", finished(bob)["images"][0]["image_id"])  # not counted on Alice's page
    page = alice.client.get("/account").content.decode()
    assert 'href="/shares"' in page and re.search(r'<span id="share-links-count"[^>]*>1 working</span>', page)
    # The list itself is the Share links page's (static/js/app.js `shares`, reading GET /api/v1/shares).
    assert 'x-data="shares" data-live-only="true"' in page and '<ol class="queue-list share-list">' in page
