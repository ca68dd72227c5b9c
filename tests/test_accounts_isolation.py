"""Accounts mode: two users, Alice and Bob, share nothing. Through every endpoint and page, Bob can neither
see, fetch, change nor learn of anything of Alice's: her ids answer exactly like ids that do not exist."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from types import SimpleNamespace

import pytest
from django.core.cache import cache

from generation.models import ImageTag
from generation.models import GenerationTask, Image

from .accounts import accounts, make_user, signed_in, with_token  # noqa: F401  (fixture)
from .conftest import SEED_EXAMPLE, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(accounts, media):
    alice_user, bob_user = make_user("alice"), make_user("bob")
    alice, bob = signed_in(alice_user), signed_in(bob_user)
    done = alice.generate(prompt="alice's secret harbour", num_images=2)
    run(done)
    image = Image.objects.filter(task__task_id=done).order_by("index").first()
    assert alice.post(f"images/{image.image_id}/tags", {"tags": ["secret"]}).status_code == 200
    running = alice.generate(prompt="alice's unfinished lighthouse")
    # A task in progress: a worker holds it and has reported progress.
    GenerationTask.objects.filter(task_id=running).update(status="processing", stage="generating", progress=40)
    bobs = bob.generate(prompt="bob's own meadow")
    run(bobs)
    bobs_image = Image.objects.get(task__task_id=bobs)
    return SimpleNamespace(alice=alice, bob=bob, alice_user=alice_user, bob_user=bob_user, done=done,
                           running=running, image=image.image_id, bobs=bobs, bobs_image=bobs_image.image_id)


def unknown_task() -> str:
    return str(uuid.uuid4())


def unknown_image() -> str:
    return "img_" + uuid.uuid4().hex


def assert_like_missing(response, missing_response):
    """A 404 whose body is the one a never-existing id gets: nothing tells the two apart."""
    assert response.status_code == 404
    assert missing_response.status_code == 404
    assert response.json() == missing_response.json()


def test_every_task_image_and_tag_belongs_to_its_user(world):
    assert {t.owner_id for t in GenerationTask.objects.filter(task_id__in=[world.done, world.running])} == {
        world.alice_user.pk}
    assert {i.owner_id for i in Image.objects.filter(task__task_id=world.done)} == {world.alice_user.pk}
    assert ImageTag.objects.get(tag_name="secret").owner_id == world.alice_user.pk
    assert GenerationTask.objects.get(task_id=world.bobs).owner_id == world.bob_user.pk


def test_the_owner_reaches_everything_of_their_own(world):
    alice = world.alice
    assert alice.get(f"task/{world.done}").status_code == 200
    assert alice.get(f"task/{world.running}").json()["progress"] == 40
    assert alice.get(f"images/{world.image}").status_code == 200
    assert alice.get(f"images/{world.image}/thumbnail").status_code == 200
    assert alice.get("tags").json() == [{"tag_name": "secret", "count": 1}]
    assert alice.get("tasks").json()["count"] == 2


def test_another_users_task_answers_like_a_missing_one_even_while_it_runs(world):
    bob = world.bob
    missing = bob.get(f"task/{unknown_task()}")
    assert_like_missing(bob.get(f"task/{world.done}"), missing)
    assert_like_missing(bob.get(f"task/{world.running}"), missing)


def test_another_users_running_task_cannot_be_cancelled(world):
    missing = world.bob.delete(f"task/{unknown_task()}")
    assert_like_missing(world.bob.delete(f"task/{world.running}"), missing)
    assert GenerationTask.objects.get(task_id=world.running).status == "processing"


def test_another_users_failed_task_cannot_be_run_again(world):
    GenerationTask.objects.filter(task_id=world.done).update(status="failed")
    missing = world.bob.post(f"task/{unknown_task()}/retry", {})
    assert_like_missing(world.bob.post(f"task/{world.done}/retry", {}), missing)
    assert GenerationTask.objects.get(task_id=world.done).retry_count == 0


def test_another_users_finished_task_cannot_be_deleted_as_a_task_or_a_history_item(world):
    assert_like_missing(world.bob.delete(f"task/{world.done}"), world.bob.delete(f"task/{unknown_task()}"))
    assert_like_missing(world.bob.delete(f"history/{world.done}"), world.bob.delete(f"history/{unknown_task()}"))
    assert GenerationTask.objects.filter(task_id=world.done).exists()
    assert Image.objects.filter(task__task_id=world.done).count() == 2


@pytest.mark.parametrize(
    "path, params",
    [
        ("tasks", {}),
        ("tasks", {"status": "pending,processing,retrying"}),
        ("tasks", {"tag": "secret"}),
        ("tasks", {"q": "alice"}),
        ("history", {}),
        ("history", {"tag": "secret"}),
        ("images", {}),
        ("images", {"tag": "secret"}),
        ("images", {"q": "harbour"}),
    ],
)
def test_lists_hold_only_the_users_own(world, path, params):
    body = world.bob.get(path, **params).json()
    ids = {row.get("task_id") for row in body["results"]}
    assert not ids & {world.done, world.running}
    assert all("alice" not in row["prompt"] for row in body["results"])
    if not params:
        assert ids == {world.bobs}  # Bob's own are there


def test_tag_counts_count_only_the_users_own_images(world):
    world.bob.post(f"images/{world.bobs_image}/tags", {"tags": ["secret"]})
    assert world.bob.get("tags").json() == [{"tag_name": "secret", "count": 1}]
    assert world.alice.get("tags").json() == [{"tag_name": "secret", "count": 1}]


@pytest.mark.parametrize("suffix", ["", "?download=1", "/thumbnail", "/thumbnail?download=1"])
def test_another_users_image_and_thumbnail_urls_answer_like_missing_ones(world, suffix):
    bob = world.bob.client
    missing = bob.get(f"/api/v1/images/{unknown_image()}{suffix}")
    response = bob.get(f"/api/v1/images/{world.image}{suffix}")
    assert_like_missing(response, missing)
    assert "Content-Disposition" not in response
    assert bob.head(f"/api/v1/images/{world.image}{suffix}").status_code == 404


def test_another_users_image_cannot_be_deleted(world):
    assert_like_missing(world.bob.delete(f"images/{world.image}"), world.bob.delete(f"images/{unknown_image()}"))
    assert Image.objects.filter(image_id=world.image).exists()


def test_another_users_image_cannot_be_tagged_or_untagged(world):
    bob = world.bob
    missing = bob.post(f"images/{unknown_image()}/tags", {"tags": ["mine"]})
    assert_like_missing(bob.post(f"images/{world.image}/tags", {"tags": ["mine"]}), missing)
    missing = bob.delete(f"images/{unknown_image()}/tags/secret")
    assert_like_missing(bob.delete(f"images/{world.image}/tags/secret"), missing)
    assert sorted(ImageTag.objects.filter(image__image_id=world.image).values_list("tag_name", flat=True)) == [
        "secret"]


@pytest.mark.parametrize("action", ["tag", "untag", "delete"])
def test_bulk_actions_on_another_users_images_change_nothing(world, action):
    bob = world.bob
    body = {"action": action, "image_ids": [world.image, world.bobs_image], "tags": ["secret"]}
    response = bob.post("images/bulk", body)
    assert response.status_code == 404
    assert response.json()["details"] == {"image_ids": [world.image]}  # as for an id that does not exist
    assert Image.objects.filter(image_id=world.image).exists()
    assert Image.objects.filter(image_id=world.bobs_image).exists()
    assert list(ImageTag.objects.filter(image__image_id=world.image).values_list("tag_name", flat=True)) == [
        "secret"]
    assert not ImageTag.objects.filter(image__image_id=world.bobs_image).exists()


def test_a_zip_holds_only_the_users_own_images(world):
    bob = world.bob
    missing = bob.get("images/zip", ids=unknown_image())
    assert_like_missing(bob.get("images/zip", ids=world.image), missing)
    response = bob.get("images/zip", ids=f"{world.image},{world.bobs_image}")
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert len(names) == 1 and world.bobs_image in names[0]


def test_idempotency_keys_are_per_user(world):
    key = {"Idempotency-Key": "same-key-" + uuid.uuid4().hex}
    first = world.alice.post("generate", SEED_EXAMPLE, **key)
    second = world.bob.post("generate", SEED_EXAMPLE, **key)
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert first.json()["task_id"] != second.json()["task_id"]
    # A different body under the same key is no conflict either: the key is Bob's own.
    assert world.bob.post("generate", {**SEED_EXAMPLE, "prompt": "other"},
                          **{"Idempotency-Key": "alice-only-" + uuid.uuid4().hex}).status_code == 201


def test_another_users_work_is_not_in_the_account_figures(world):
    quota = world.bob.get("account").json()["quota"]
    assert quota["daily_images"]["used"] == 1  # Bob's one image, not Alice's three
    assert quota["concurrent_tasks"]["used"] == 0


def test_pages_carry_only_the_users_own_figures(world):
    response = world.bob.client.get("/")
    config = json.loads(response.content.decode().split('id="page-config" type="application/json">')[1]
                        .split("</script>")[0])
    assert config["quota"]["daily_images"]["used"] == 1
    for page in ("/", "/gallery", "/history", "/queue", "/account"):
        page_response = world.bob.client.get(page)
        assert page_response.status_code == 200
        assert b"alice" not in page_response.content


def test_another_users_tokens_cannot_be_seen_or_revoked(world):
    from accounts.services import token_create

    token, raw = token_create(user=world.alice_user, name="alice's laptop")
    assert "alice" not in world.bob.client.get("/account").content.decode()
    assert world.bob.get("account/tokens").json() == []
    assert_like_missing(world.bob.delete(f"account/tokens/{token.pk}"), world.bob.delete("account/tokens/999999"))
    assert world.bob.client.post(f"/account/tokens/{token.pk}/revoke").status_code == 404
    assert with_token(raw).get("tasks").status_code == 200  # still Alice's, still working


def test_the_site_wide_figures_are_for_staff_only(world):
    assert world.bob.get("system/info").status_code == 403
    staff = signed_in(make_user("carol", staff=True))
    assert staff.get("system/info").status_code == 200


def test_staff_see_only_their_own_through_the_api_too(world):
    staff = signed_in(make_user("carol", staff=True))
    assert staff.get(f"task/{world.done}").status_code == 404
    assert staff.get("images").json()["count"] == 0


def test_limits_go_by_user_not_by_address(world, settings):
    """Alice and Bob behind one address: Alice's limits are hers alone."""
    cache.clear()
    settings.IMAGEGEN_CREATE_RATE = "2/m"
    settings.IMAGEGEN_DEFAULT_MAX_CONCURRENT_TASKS = 100
    for api in (world.alice, world.bob):
        api.client.defaults["REMOTE_ADDR"] = "10.9.9.9"
    statuses = [world.alice.post("generate", SEED_EXAMPLE).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert world.bob.post("generate", SEED_EXAMPLE).status_code == 201

    cache.clear()
    settings.IMAGEGEN_CREATE_RATE = "100/m"
    settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT = 3  # Alice has 3 unfinished now
    assert world.alice.post("generate", SEED_EXAMPLE).json()["error"] == "rate_limit_exceeded"
    assert world.bob.post("generate", SEED_EXAMPLE).status_code == 201
