"""The staff console's "Empty the trash…": it shows what every user's trash holds and, on confirmation, deletes
all of it (rows and files) and logs it; staff without the delete permission are refused. The task list
filters by "in the trash" and shows a trashed task's thumbnail from the trash."""

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.test import Client

from generation.models import GenerationTask, Image

from .accounts import PASSWORD, accounts, make_user, signed_in  # noqa: F401  (fixture)
from .admin_helpers import TASKS, messages_of
from .conftest import files_under, run

pytestmark = pytest.mark.django_db

TRASH = TASKS + "trash/"


def finished(api) -> dict:
    task_id = api.generate()
    run(task_id)
    return api.get(f"task/{task_id}").json()


@pytest.fixture
def two_trashes(accounts, media):
    alice, bob = signed_in(make_user("alice")), signed_in(make_user("bob"))
    a, b, kept = finished(alice), finished(bob), finished(bob)
    alice.delete(f"task/{a['task_id']}")
    bob.delete(f"images/{b['images'][0]['image_id']}")
    return a, b, kept


def staff_client() -> Client:
    client = Client()
    client.force_login(make_user("carol", staff=True))
    return client


def test_the_page_shows_every_user_s_trash_and_emptying_it_deletes_all_of_it(two_trashes, media,
                                                                            django_capture_on_commit_callbacks):
    a, b, kept = two_trashes
    client = staff_client()
    assert TRASH in client.get(TASKS).content.decode()
    page = client.get(TRASH)
    assert page.status_code == 200 and (page.context["tasks"], page.context["images"]) == (1, 2)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(TRASH, {"empty": "1"}, follow=True)
    assert "The trash is empty: 1 tasks and 1 images deleted for good." in messages_of(response)
    assert not GenerationTask.objects.filter(task_id=a["task_id"]).exists()
    assert not Image.objects.filter(image_id=b["images"][0]["image_id"]).exists()
    assert GenerationTask.objects.filter(task_id__in=[b["task_id"], kept["task_id"]]).count() == 2
    assert len(files_under(media)) == 2  # the kept task's original and thumbnail
    entry = LogEntry.objects.get(action_flag=DELETION, object_repr="Trash")
    assert "1 tasks and 1 images" in entry.change_message and entry.user.username == "carol"


def test_staff_without_the_delete_permission_are_refused(two_trashes):
    viewer = make_user("dave")
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(Permission.objects.get(codename="view_generationtask"))
    client = Client()
    assert client.login(username="dave", password=PASSWORD)
    assert TRASH not in client.get(TASKS).content.decode()
    assert client.get(TRASH).status_code == 403
    assert client.post(TRASH, {"empty": "1"}).status_code == 403
    assert GenerationTask.objects.filter(deleted_at__isnull=False).count() == 1


def test_the_task_list_filters_by_the_trash_and_shows_trashed_thumbnails_from_it(two_trashes):
    a, b, kept = two_trashes
    client = staff_client()
    page = client.get(TASKS, {"trash": "yes"})
    assert f'src="/api/v1/trash/{a["images"][0]["image_id"]}/thumbnail"' in page.content.decode()
    in_trash = page.context["cl"].result_list
    out_of_it = client.get(TASKS, {"trash": "no"}).context["cl"].result_list
    assert [t.task_id for t in in_trash] == [a["task_id"]]
    assert {t.task_id for t in out_of_it} == {b["task_id"], kept["task_id"]}
