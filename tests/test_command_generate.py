"""manage.py generate: submit from the command line, wait with progress, print or copy the result files, batches
from a file, and a non-zero exit when anything fails."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from generation.engines.base import EngineError, Retry
from generation.management.commands import generate as generate_command
from generation.models import GenerationTask

from .conftest import run

pytestmark = pytest.mark.django_db


def generate(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("generate", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def worker(monkeypatch):
    """While the command waits, a "worker" runs whatever is pending (the wait loop's sleep is the hook)."""
    ticks = []

    def work(seconds):
        ticks.append(seconds)
        for task_id in GenerationTask.objects.filter(status="pending").values_list("task_id", flat=True):
            run(task_id)

    monkeypatch.setattr(generate_command, "sleep", work)
    return ticks


def test_it_waits_for_the_worker_and_prints_the_result_paths(media, worker):
    out, err = generate("a lighthouse at dusk", "--num-images", "2", "--model", "high_aes_general_v20")
    task = GenerationTask.objects.get()
    assert task.status == "completed" and task.prompt == "a lighthouse at dusk" and task.client_id == "cli"
    paths = out.split()
    assert len(paths) == 2 and all(Path(p).is_file() and str(media) in p for p in paths)
    assert worker  # it waited
    assert f"{task.task_id}: completed" in err  # progress lines (not a terminal here)


def test_here_runs_the_generation_in_the_process(media):
    out, err = generate("一只可爱的猫咪", "--here", "--seed", "42")
    task = GenerationTask.objects.get()
    assert task.status == "completed" and task.seed == 42
    assert Path(out.split()[0]).is_file()
    assert "in this process" in err


def test_a_file_of_prompts_is_a_batch(media, worker, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# a comment\nfirst prompt\n\nsecond prompt\nthird prompt\n", encoding="utf-8")
    out, _err = generate("--file", str(prompts), "--json")
    results = json.loads(out)
    assert [r["prompt"] for r in results] == ["first prompt", "second prompt", "third prompt"]
    assert all(r["status"] == "completed" and len(r["files"]) == 1 for r in results)


def test_a_batch_larger_than_the_client_limit_goes_through_in_turns(media, worker, settings):
    settings.IMAGEGEN_MAX_QUEUED_PER_CLIENT = 2
    out, _err = generate("one", "two", "three", "four", "five")
    assert GenerationTask.objects.filter(status="completed").count() == 5
    assert len(out.split()) == 5


def test_output_copies_the_images_into_a_folder(media, tmp_path):
    target = tmp_path / "out"
    out, _err = generate("a red kite", "--here", "-n", "2", "--output", str(target), "--model", "high_aes_general_v20")
    copies = sorted(target.iterdir())
    assert len(copies) == 2 and all(p.name.startswith("a-red-kite-img_") for p in copies)
    task = GenerationTask.objects.get()
    originals = {(media / i.file_path).read_bytes() for i in task.images.all()}
    assert {p.read_bytes() for p in copies} == originals
    assert {str(p.resolve()) for p in copies} == set(out.split())


def test_no_wait_prints_the_task_ids(media):
    out, _err = generate("later", "--no-wait")
    task = GenerationTask.objects.get()
    assert out.strip() == task.task_id and task.status == "pending"


def test_an_invalid_request_submits_nothing_and_exits_non_zero(db):
    with pytest.raises(CommandError, match="width"):
        generate("fine", "--width", "10", "--height", "10")
    with pytest.raises(CommandError, match="give a prompt"):
        generate()
    assert GenerationTask.objects.count() == 0


def test_a_failed_generation_exits_non_zero_with_its_error(media, scripted):
    scripted(EngineError("content_rejected", "Text Risk Not Pass", retry=Retry.NEVER))
    with pytest.raises(CommandError, match="1 of 1 tasks did not complete"):
        generate("rejected", "--here")


def test_it_gives_up_waiting_after_the_timeout(media, monkeypatch):
    monkeypatch.setattr(generate_command, "sleep", lambda s: None)
    with pytest.raises(CommandError, match="timed out"):
        generate("nobody runs this", "--timeout", "0.01")


def test_it_has_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        call_command("generate", "--help")
    assert exit_.value.code == 0
    assert "--file" in capsys.readouterr().out


def test_user_files_the_tasks_under_a_user_within_their_daily_quota(media, worker, settings):
    from .accounts import make_user

    settings.IMAGEGEN_ACCESS = "accounts"
    settings.IMAGEGEN_DEFAULT_DAILY_IMAGES = 2
    make_user("alice")
    generate("a lighthouse", "--user", "alice", "--here")
    task = GenerationTask.objects.get()
    assert task.owner.username == "alice" and task.client_id == f"user:{task.owner_id}"
    assert task.images.get().owner_id == task.owner_id
    with pytest.raises(CommandError, match="only 1 of your 2 images for today remain"):
        generate("two more", "--user", "alice", "--num-images", "2")
    with pytest.raises(CommandError, match="no active user"):
        generate("x", "--user", "nobody")
