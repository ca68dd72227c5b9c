"""No reference file outlives what it belongs to: a task deleted for good (purge, trash, cleanup) takes its
copies, an upload no task used goes after a day, an erased account takes all of its references, and a file no
row names is swept by the cleanup."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from generation import maintenance, services
from generation.models import Reference
from imagegen.people.personal_data import user_erase

from .accounts import accounts, make_user, signed_in  # noqa: F401 (a fixture)
from .conftest import files_under, run
from .test_reference_images_are_checked_against_each_models_limits import S40, picture, spec
from .test_reference_images_reach_ark import ark, upload  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def reference_files(media) -> list[str]:
    return [p for p in files_under(media) if p.startswith("references/")]


def test_a_purged_task_takes_its_reference_copies_but_not_the_upload(api, media, ark,
                                                                       django_capture_on_commit_callbacks):
    ref_id = upload(api, picture()).json()["reference_id"]
    task_id = api.generate(**spec(S40), prompt="p", reference_images=[ref_id])
    run(task_id)
    assert len(reference_files(media)) == 2  # the upload and the task's own copy
    with django_capture_on_commit_callbacks(execute=True):
        assert api.client.delete(f"/api/v1/task/{task_id}?purge=1").status_code == 204
    assert reference_files(media) == [Reference.objects.get(reference_id=ref_id).file_path]


def test_an_upload_no_task_used_goes_after_a_day(api, media, django_capture_on_commit_callbacks):
    upload(api, picture())
    assert services.references_purge_unused() == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.references_purge_unused(now=timezone.now() + timedelta(days=1, seconds=1)) == 1
    assert reference_files(media) == [] and not Reference.objects.exists()


def test_an_erased_account_leaves_no_reference_file(accounts, media, ark):  # noqa: F811
    user = make_user("carol")
    api = signed_in(user)
    ref_id = upload(api, picture()).json()["reference_id"]
    run(api.generate(**spec(S40), prompt="p", reference_images=[ref_id]))
    upload(api, picture(32, 32))
    assert len(reference_files(media)) == 3
    user_erase(user=user)
    assert reference_files(media) == [] and not Reference.objects.exists()


def test_the_cleanup_sweeps_a_reference_file_no_row_names(api, media, settings):
    kept = upload(api, picture()).json()["reference_id"]
    default_storage.save("references/ab/lost/0.png", ContentFile(picture()))
    policy = maintenance.CleanupPolicy(files=True)
    plan = maintenance.cleanup_plan(policy=policy, now=timezone.now() + timedelta(days=2))
    assert [o.path for o in plan.orphan_files] == ["references/ab/lost/0.png"]
    maintenance.cleanup_apply(plan=plan)
    assert reference_files(media) == [Reference.objects.get(reference_id=kept).file_path]



def test_a_persons_data_export_holds_their_reference_images(accounts, media, ark):  # noqa: F811
    import io
    import json
    import zipfile

    from imagegen.people.personal_data import user_export

    user = make_user("dora")
    api = signed_in(user)
    ref_id = upload(api, picture()).json()["reference_id"]
    run(api.generate(**spec(S40), prompt="p", reference_images=[ref_id]))
    out = io.BytesIO()
    user_export(user=user, out=out)
    with zipfile.ZipFile(out) as archive:
        refs = json.loads(archive.read("reference_images.json"))
        assert [r["task_id"] is None for r in refs] == [True, False]
        assert all(archive.read(r["file"]) == picture() for r in refs)
