"""A world for the data-export and erasure tests: Alice with a finished task (two images, tags, files and
thumbnails on storage), an unfinished task and a token; Bob with his own task, who must lose nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from generation.models import GenerationTask, Image

from .accounts import accounts, make_user, signed_in  # noqa: F401  (fixture)
from .conftest import files_under, run


@pytest.fixture
def people(accounts, media):
    from accounts import services

    alice_user, bob_user = make_user("alice"), make_user("bob")
    alice_user.email = "alice@example.com"
    alice_user.save(update_fields=["email"])
    alice, bob = signed_in(alice_user), signed_in(bob_user)
    done = alice.generate(prompt="alice's harbour at dawn", num_images=2)
    run(done)
    images = list(Image.objects.filter(task__task_id=done).order_by("index"))
    assert alice.post(f"images/{images[0].image_id}/tags", {"tags": ["harbour", "dawn"]}).status_code == 200
    running = alice.generate(prompt="alice's unfinished lighthouse")
    GenerationTask.objects.filter(task_id=running).update(status="processing", stage="generating", progress=40)
    _token, raw = services.token_create(user=alice_user, name="laptop script")
    bobs = bob.generate(prompt="bob's own meadow")
    run(bobs)
    return SimpleNamespace(alice=alice, bob=bob, alice_user=alice_user, bob_user=bob_user, done=done,
                           running=running, images=images, bobs=bobs, token=raw, media=media,
                           alice_files=[p for i in images for p in (i.file_path, i.thumbnail_path)],
                           bob_files=[p for i in Image.objects.filter(task__task_id=bobs)
                                      for p in (i.file_path, i.thumbnail_path)])


def files(world) -> list[str]:
    return files_under(world.media)
