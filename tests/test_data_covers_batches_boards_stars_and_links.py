"""A person's archive and erasure (issue 18, item 8) reach what issue 21 and 24 added: batches, boards,
stars and share links. An erased user's share link shows nothing from then on."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.test import Client

from gallery.models import Board, ShareLink, Star
from generation.models import Batch

from .accounts import PASSWORD, accounts  # noqa: F401  (fixture)
from .people import people  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def alices_things(people) -> dict:
    alice = people.alice
    batch = alice.post("batches", {"prompt": "alice's kites", "variations": 2}).json()
    board = alice.post("boards", {"name": "Alice's best"}).json()
    image = people.images[0].image_id
    alice.post(f"boards/{board['board_id']}/images", {"image_ids": [image]})
    alice.client.put(f"/api/v1/images/{image}/star")
    link = alice.post("shares", {"kind": "board", "target_id": board["board_id"]}).json()
    bobs_board = people.bob.post("boards", {"name": "Bob's"}).json()
    return {"batch": batch, "board": board, "image": image, "link": link, "bobs_board": bobs_board}


def test_the_archive_holds_the_users_batches_boards_stars_and_links(people):
    made = alices_things(people)
    response = people.alice.client.get("/account/export")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    boards = json.loads(archive.read("boards.json"))
    assert boards == [{"board_id": made["board"]["board_id"], "name": "Alice's best",
                       "created_at": boards[0]["created_at"], "images": [made["image"]]}]
    assert json.loads(archive.read("stars.json")) == [made["image"]]
    links = json.loads(archive.read("share_links.json"))
    assert [(x["share_id"], x["kind"]) for x in links] == [(made["link"]["share_id"], "board")]
    assert made["link"]["url"].split("/")[-1] not in archive.read("share_links.json").decode()  # not the key
    tasks = json.loads(archive.read("tasks.json"))
    assert sum(t["batch_id"] == made["batch"]["batch_id"] for t in tasks) == 2
    assert b"Bob's" not in archive.read("boards.json")


def test_erasure_takes_them_all_and_the_share_link_stops(people):
    made = alices_things(people)
    assert Client().get(made["link"]["url"]).status_code == 200
    assert people.alice.client.post("/account/delete", {"password": PASSWORD}).status_code == 200
    owner = people.alice_user.pk
    for model in (Batch, Board, Star, ShareLink):
        assert not model.objects.filter(owner_id=owner).exists(), model
    assert Client().get(made["link"]["url"]).status_code == 404
    assert Board.objects.filter(board_id=made["bobs_board"]["board_id"]).exists()
