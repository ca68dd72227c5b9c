"""A backup restored into an installation with another SECRET_KEY (the archive holds no secret_key file), as
README says (Operator commands: backup, restore): the queue messages of the old installation are dropped by
the worker, and the recovery sweep sends the pending tasks again, so they complete; sessions of the old
installation are signed out (sign in again); API tokens, stored as their SHA-256, keep working; and a
signing token's secret, derived from SECRET_KEY (README, Signed requests), changes with it."""

from __future__ import annotations

import subprocess
import sys
import tarfile

import json

import pytest
from django.test import Client

from accounts.services import token_create
from accounts.signing import signing_secret

from .accounts import accounts, make_user, stack_user  # noqa: F401  (accounts: a fixture)
from .stack import ROOT, Stack
from .test_signed_requests import reference_client
from .test_stream_accounts import session_cookie

OLD_KEY = "the old installation's secret key, 50 characters or more, never reused"
NEW_KEY = "the new installation's own secret key, 50 characters or more, fresh"
TASKS = 3


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)


@pytest.mark.processes
def test_a_restore_under_another_secret_key_completes_the_pending_tasks_and_signs_sessions_out(tmp_path):
    source = Stack(tmp_path / "source", static=True, SECRET_KEY=OLD_KEY, IMAGEGEN_ACCESS="accounts")
    try:
        alice = {"Authorization": f"Bearer {stack_user(source, 'alice')}"}
        source.start_web()  # no worker: the tasks stay pending, their queue messages signed with the old key
        cookie = {"Cookie": session_cookie(source, "alice")}
        assert source.request("GET", "/api/v1/tasks", headers=cookie)[0] == 200
        task_ids = []
        for n in range(TASKS):
            status, created = source.request("POST", "/api/v1/generate", {"prompt": f"pending {n}"}, headers=alice)
            assert status == 201, created
            task_ids.append(created["task_id"])
        assert source.query("SELECT COUNT(*) FROM django_q_ormq") == [(TASKS,)]
        made = manage(source.env, "backup", "--output", str(tmp_path / "backup.tar.gz"))
        assert made.returncode == 0, made.stderr
    finally:
        source.close()
    with tarfile.open(tmp_path / "backup.tar.gz") as tar:
        assert not [name for name in tar.getnames() if "secret" in name]

    target_env = {**source.env, "IMAGEGEN_DATA_DIR": str(tmp_path / "target"), "SECRET_KEY": NEW_KEY}
    restored = manage(target_env, "restore", str(tmp_path / "backup.tar.gz"))
    assert restored.returncode == 0, restored.stderr
    target = Stack(tmp_path / "target", static=True, SECRET_KEY=NEW_KEY, IMAGEGEN_ACCESS="accounts", IMAGEGEN_REQUEUE_AFTER="1")
    try:
        target.start_web()
        assert target.request("GET", "/api/v1/tasks", headers=cookie)[0] == 401  # the old session is gone
        assert target.request("GET", "/api/v1/tasks", headers={"Cookie": session_cookie(target, "alice")})[0] == 200
        assert all(target.request("GET", f"/api/v1/task/{t}", headers=alice)[1]["status"] == "pending"
                   for t in task_ids)

        target.start_worker()
        target.wait_for(
            lambda: all(target.request("GET", f"/api/v1/task/{t}", headers=alice)[1]["status"] == "completed"
                        for t in task_ids), timeout=120, what="the restored pending tasks to complete")
        # The old messages were dropped, not run: the queue empties and each task ran once, with its one image.
        target.wait_for(lambda: target.query("SELECT COUNT(*) FROM django_q_ormq") == [(0,)], timeout=60,
                        what="the queue to empty")
        assert target.query("SELECT COUNT(*) FROM images") == [(TASKS,)]
        assert target.log("worker").count("django.core.signing.BadSignature: Signature") == TASKS
    finally:
        target.close()


@pytest.mark.django_db
def test_a_signing_secret_of_the_old_installation_is_refused_under_the_new_key(accounts, settings):
    """The token's row comes with the restored database; the secret its holder kept was derived from the old
    key. Under the new key that secret signs nothing (401); the token's secret is now the one derived anew."""
    settings.SECRET_KEY = OLD_KEY
    token, raw = token_create(user=make_user("alice"), name="signed", signature_required=True)
    old_secret = signing_secret(token.digest)
    settings.SECRET_KEY = NEW_KEY
    client = reference_client()
    body = json.dumps({"prompt": "a signed lighthouse"}).encode()

    def generate(secret):
        sent = client["signature_headers"](raw, secret, "POST", "/api/v1/generate", "", body)
        return Client().post("/api/v1/generate", data=body, content_type="application/json",
                             headers=sent)

    refused = generate(old_secret)
    assert refused.status_code == 401, refused.content
    assert generate(signing_secret(token.digest)).status_code == 201
