"""Boards and stars (issue 21, item 4): named boards hold images (an image can be on several; boards are
collections, tags stay labels), a star marks an image, and the gallery filters by either. In accounts mode
another user's board, and putting another user's image on one's board, answer like missing ones; staff see
every board in the console."""

from __future__ import annotations

import pytest

from gallery.models import Board, BoardImage, Star
from generation.models import Image

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .conftest import run

pytestmark = pytest.mark.django_db


def images_of(api, count: int = 2) -> list[str]:
    task_id = api.generate(num_images=count)
    run(task_id)
    return [img["image_id"] for img in api.get(f"task/{task_id}").json()["images"]]


def make_board(api, name: str) -> dict:
    response = api.post("boards", {"name": name})
    assert response.status_code == 201, response.content
    return response.json()


def test_an_image_can_be_on_several_boards_and_the_gallery_filters_by_board(api, media):
    a, b = images_of(api)
    cats, best = make_board(api, "Cats"), make_board(api, "Best of")
    assert api.post(f"boards/{cats['board_id']}/images", {"image_ids": [a, b]}).json()["added"] == 2
    assert api.post(f"boards/{best['board_id']}/images", {"image_ids": [a, a]}).json()["added"] == 1
    # Putting an image on a board twice leaves it there once.
    assert api.post(f"boards/{cats['board_id']}/images", {"image_ids": [a]}).json()["added"] == 0
    assert {x["name"]: x["count"] for x in api.get("boards").json()} == {"Best of": 1, "Cats": 2}
    assert [x["image_id"] for x in api.get("images", board=best["board_id"]).json()["results"]] == [a]
    assert api.get("images", board=cats["board_id"]).json()["count"] == 2


def test_taking_an_image_off_a_board_or_deleting_the_board_keeps_the_image(api, media):
    a, b = images_of(api)
    board = make_board(api, "Keep")
    api.post(f"boards/{board['board_id']}/images", {"image_ids": [a, b]})
    response = api.delete(f"boards/{board['board_id']}/images/{a}")
    assert response.status_code == 200 and response.json()["count"] == 1
    assert api.delete(f"boards/{board['board_id']}").status_code == 204
    assert Image.objects.filter(image_id__in=[a, b]).count() == 2 and BoardImage.objects.count() == 0
    assert api.get(f"boards/{board['board_id']}/images").status_code in (404, 405)


def test_deleting_an_image_for_good_takes_it_off_its_boards_and_its_star(api, media):
    a, b = images_of(api)
    board = make_board(api, "Gone")
    api.post(f"boards/{board['board_id']}/images", {"image_ids": [a]})
    api.client.put(f"/api/v1/images/{a}/star")
    assert api.delete(f"images/{a}?purge=1").status_code == 204
    assert api.get("boards").json()[0]["count"] == 0 and Star.objects.count() == 0


def test_names_are_cleaned_unique_per_owner_and_renamable(api):
    board = make_board(api, "  My   board\u200b ")
    assert board["name"] == "My board"
    again = api.post("boards", {"name": "My board"})
    assert again.status_code == 409 and again.json()["error"] == "board_exists"
    other = make_board(api, "Other")
    clash = api.client.patch(f"/api/v1/boards/{other['board_id']}", {"name": "My board"}, content_type="application/json")
    assert clash.status_code == 409
    renamed = api.client.patch(f"/api/v1/boards/{other['board_id']}", {"name": "Renamed"}, content_type="application/json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"


@pytest.mark.parametrize("name", ["", "   ", "\x00", "x" * 81, 12, None])
def test_a_bad_board_name_gets_a_clear_error(api, name):
    response = api.post("boards", {"name": name})
    assert response.status_code == 400 and response.json()["error"] == "validation_error"
    assert Board.objects.count() == 0


def test_the_zh_error_is_in_chinese(api_zh):
    response = api_zh.post("boards", {"name": "   "})
    assert response.status_code == 400 and "画板" in response.json()["message"]


def test_a_star_marks_an_image_and_the_gallery_filters_by_it(api, media):
    a, b = images_of(api)
    assert api.client.put(f"/api/v1/images/{a}/star").json() == {"starred": True}
    assert api.client.put(f"/api/v1/images/{a}/star").json() == {"starred": True}  # twice is once
    rows = {x["image_id"]: x["starred"] for x in api.get("images").json()["results"]}
    assert rows == {a: True, b: False}
    assert [x["image_id"] for x in api.get("images", starred="true").json()["results"]] == [a]
    assert api.delete(f"images/{a}/star").json() == {"starred": False}
    assert api.get("images", starred="true").json()["count"] == 0


def test_unknown_boards_and_images_are_not_found(api, media):
    a, = images_of(api, 1)
    board = make_board(api, "B")
    for response in (api.get("images", board="board_" + "0" * 32),):
        assert response.status_code == 200 and response.json()["count"] == 0
    assert api.delete("boards/board_" + "0" * 32).status_code == 404
    assert api.delete("boards/nope").status_code == 404
    missing = api.post(f"boards/{board['board_id']}/images", {"image_ids": [a, "img_" + "0" * 32]})
    assert missing.status_code == 404 and missing.json()["details"] == {"image_ids": ["img_" + "0" * 32]}
    assert BoardImage.objects.count() == 0  # all or nothing
    assert api.client.put("/api/v1/images/img_" + "0" * 32 + "/star").status_code == 404


def test_another_users_boards_and_images_answer_like_missing_ones(accounts, media):
    alice, bob = signed_in(make_user("alice")), signed_in(make_user("bob"))
    alices_image, = images_of(alice, 1)
    bobs_image, = images_of(bob, 1)
    board = make_board(alice, "Alice's")
    make_board(bob, "Alice's")  # names are per owner
    missing = bob.delete("boards/board_" + "0" * 32)
    assert bob.delete(f"boards/{board['board_id']}").json() == missing.json()
    assert [x["name"] for x in bob.get("boards").json()] == ["Alice's"] and bob.get("boards").json()[0]["board_id"] != board["board_id"]
    # Bob cannot put his image on Alice's board, nor hers on his.
    assert bob.post(f"boards/{board['board_id']}/images", {"image_ids": [bobs_image]}).status_code == 404
    own = make_board(bob, "Bob's")
    assert bob.post(f"boards/{own['board_id']}/images", {"image_ids": [alices_image]}).status_code == 404
    assert bob.client.put(f"/api/v1/images/{alices_image}/star").status_code == 404
    assert bob.get("images", board=board["board_id"]).json()["count"] == 0
    alice.client.put(f"/api/v1/images/{alices_image}/star")
    assert bob.get("images", starred="true").json()["count"] == 0


def test_staff_see_every_board_in_the_console(accounts, media, client):
    alice = signed_in(make_user("alice"))
    make_board(alice, "Alice's holiday")
    staff = make_user("root", staff=True)
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    page = client.get("/admin/gallery/board/")
    assert page.status_code == 200
    assert "Alice&#x27;s holiday" in page.content.decode() or "Alice's holiday" in page.content.decode()
