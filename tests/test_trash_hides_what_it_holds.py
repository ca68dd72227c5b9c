"""What is in the trash is gone from every list, search, tag count, board, zip, batch, share link and image
URL, exactly as if it had been deleted; a restore brings all of it back."""

import io
import zipfile

import pytest
from django.test import Client

from .conftest import run

pytestmark = pytest.mark.django_db


def finished(api, **body) -> dict:
    task_id = api.generate(**body)
    run(task_id)
    return api.get(f"task/{task_id}").json()


def ids(response, key="task_id") -> list[str]:
    assert response.status_code == 200, response.content
    return [row[key] for row in response.json()["results"]]


def public(url: str):
    return Client(HTTP_HOST="127.0.0.1").get(url)


@pytest.fixture
def world(api, media):
    """A kept task, and a batch of two tasks whose first (the one to go) has an image that is tagged, on a
    board, starred and shared."""
    kept = finished(api, prompt="a kept meadow")
    batch = api.post("batches", {"prompt": "a trashed harbour at dawn", "variations": 2}).json()
    for task in batch["tasks"]:
        run(task["task_id"])
    gone = api.get(f"task/{batch['tasks'][0]['task_id']}").json()
    gone_image = gone["images"][0]["image_id"]
    assert api.post(f"images/{gone_image}/tags", {"tags": ["harbour"]}).status_code == 200
    assert api.post(f"images/{kept['images'][0]['image_id']}/tags", {"tags": ["harbour"]}).status_code == 200
    board = api.post("boards", {"name": "Harbours"}).json()
    api.post(f"boards/{board['board_id']}/images", {"image_ids": [gone_image, kept["images"][0]["image_id"]]})
    assert api.client.put(f"/api/v1/images/{gone_image}/star").status_code == 200
    links = {kind: api.post("shares", {"kind": kind, "target_id": target}).json()["url"]
             for kind, target in (("task", gone["task_id"]), ("image", gone_image), ("board", board["board_id"]))}
    return {"kept": kept, "gone": gone, "image": gone_image, "batch": batch["batch_id"], "board": board["board_id"],
            "links": links, "sibling": batch["tasks"][1]["task_id"]}


def seen(api, w) -> dict:
    """Everything a person could find the trashed task or image through."""
    image, task_id = w["image"], w["gone"]["task_id"]
    board = next(b for b in api.get("boards").json() if b["board_id"] == w["board"])
    zipped = api.get("images/zip", ids=f"{image},{w['kept']['images'][0]['image_id']}")
    return {
        "task": api.get(f"task/{task_id}").status_code,
        "tasks": task_id in ids(api.get("tasks")),
        "history": task_id in ids(api.get("history")),
        "history_count": api.get("history").json()["count"],
        "search": task_id in ids(api.get("history", q="trashed harbour")),
        "tasks_by_tag": task_id in ids(api.get("tasks", tag="harbour")),
        "batch": [t["task_id"] for t in api.get(f"batches/{w['batch']}").json()["tasks"]],
        "images": image in ids(api.get("images"), "image_id"),
        "images_by_tag": image in ids(api.get("images", tag="harbour"), "image_id"),
        "images_by_batch": image in ids(api.get("images", batch=w["batch"]), "image_id"),
        "images_on_board": image in ids(api.get("images", board=w["board"]), "image_id"),
        "starred": image in ids(api.get("images", starred="true"), "image_id"),
        "tag_count": api.get("tags").json(),
        "board_count": board["count"],
        "zip_entries": len(zipfile.ZipFile(io.BytesIO(b"".join(zipped.streaming_content))).namelist()),
        "original": api.get(f"images/{image}").status_code,
        "thumbnail": api.get(f"images/{image}/thumbnail").status_code,
        "links": {kind: public(url).status_code for kind, url in w["links"].items()},
        "board_link_shows_it": image in public(w["links"]["board"]).content.decode(),
    }


def test_a_task_in_the_trash_is_found_nowhere_and_comes_back_everywhere(api, world):
    before = seen(api, world)
    assert api.delete(f"task/{world['gone']['task_id']}").status_code == 204
    during = seen(api, world)
    assert during == {
        "task": 404, "tasks": False, "history": False, "history_count": before["history_count"] - 1,
        "search": False, "tasks_by_tag": False, "batch": [world["sibling"]], "images": False,
        "images_by_tag": False, "images_by_batch": False, "images_on_board": False, "starred": False,
        "tag_count": [{"tag_name": "harbour", "count": 1}], "board_count": 1, "zip_entries": 1,
        "original": 404, "thumbnail": 404,
        "links": {"task": 404, "image": 404, "board": 200}, "board_link_shows_it": False,
    }
    assert api.post(f"images/{world['image']}/tags", {"tags": ["more"]}).status_code == 404
    assert api.post(f"trash/{world['gone']['task_id']}/restore").status_code == 200
    assert seen(api, world) == before
    assert before["zip_entries"] == 2 and before["tag_count"] == [{"tag_name": "harbour", "count": 2}]
    assert before["links"] == {"task": 200, "image": 200, "board": 200} and before["board_link_shows_it"]


def test_an_image_trashed_alone_is_found_nowhere_while_its_task_stays(api, world):
    before = seen(api, world)
    assert api.delete(f"images/{world['image']}").status_code == 204
    during = seen(api, world)
    assert during["task"] == 200 and during["history"] and during["search"] and during["batch"]
    assert not during["tasks_by_tag"]  # the task carried the tag only on that image
    assert api.get(f"task/{world['gone']['task_id']}").json()["images"] == []
    assert (during["images"], during["images_on_board"], during["starred"], during["zip_entries"]) == (False, False,
                                                                                                         False, 1)
    assert during["tag_count"] == [{"tag_name": "harbour", "count": 1}] and during["board_count"] == 1
    assert (during["original"], during["thumbnail"], during["links"]["image"]) == (404, 404, 404)
    assert api.post(f"trash/{world['image']}/restore").status_code == 200
    assert seen(api, world) == before
