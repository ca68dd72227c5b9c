"""manage.py generate: submit generations from the command line, wait for them with a progress display and
print (or copy out) the result files. Prompts come from the arguments and/or a file, one per line."""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
import unicodedata
from pathlib import Path

from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from core.errors import QuotaExceeded, RateLimited
from core.operator import operator_command_done
from generation import maintenance, run, services
from generation.model_specs import MAX_NUM_IMAGES
from generation.models import FINISHED, GenerationTask, Status
from generation.planning import PlanError, plan_generation

sleep = time.sleep  # the wait loop's pause; tests replace it with "a worker runs the queue"

POLL_SECONDS = 0.5
BAR_WIDTH = 24


def read_prompts(path: str) -> list[str]:
    """One prompt per line; blank lines and lines starting with # are skipped; "-" reads stdin."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def file_name(task: GenerationTask, image) -> str:
    words = unicodedata.normalize("NFKC", task.prompt)
    words = re.sub(r"[^\w]+", "-", words).strip("-_")[:40].strip("-_") or "image"
    return f"{words}-{image.image_id}.{image.extension}"


class Command(BaseCommand):
    help = (
        "Generate images from the command line: submit one task per prompt, wait for the worker with a "
        "progress display, then print the result file paths (or copy them with --output). Exits non-zero "
        "if any task fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("prompt", nargs="*", help="Prompt(s) to generate (quote each one).")
        parser.add_argument("--file", "-f", help="Read prompts from this file, one per line (# comments; - for stdin).")
        parser.add_argument("--model", help="Catalogue model id or alias (default: the catalogue's default).")
        parser.add_argument("--width", type=int)
        parser.add_argument("--height", type=int)
        parser.add_argument("--num-images", "-n", type=int, help=f"Images per prompt (1-{MAX_NUM_IMAGES}).")
        parser.add_argument("--steps", type=int)
        parser.add_argument("--scale", type=float)
        parser.add_argument("--seed", type=int, help="Seed (-1 or omitted: random; the chosen seed is recorded).")
        parser.add_argument("--negative-prompt")
        parser.add_argument("--enhance-prompt", action="store_true", default=None)
        parser.add_argument("--no-enhance-prompt", dest="enhance_prompt", action="store_false")
        parser.add_argument("--no-wait", action="store_true", help="Submit and print the task ids; do not wait.")
        parser.add_argument(
            "--here", action="store_true",
            help="Run the generations in this process instead of waiting for a worker (no qcluster needed).",
        )
        parser.add_argument("--output", "-o", help="Copy the result images into this directory.")
        parser.add_argument("--timeout", type=float, default=900, help="Give up waiting after this many seconds "
                            "(default 900; 0 waits forever). The tasks go on in the worker.")
        parser.add_argument("--client", default="cli", help="Client id the tasks are filed under (default: cli).")
        parser.add_argument("--user", help="Accounts mode: the user the tasks belong to (their quotas apply).")
        parser.add_argument("--json", action="store_true", help="Print the results as JSON.")

    # -- input

    def _requests(self, opts) -> list[dict]:
        prompts = list(opts["prompt"])
        if opts["file"]:
            try:
                prompts += read_prompts(opts["file"])
            except OSError as err:
                raise CommandError(f"cannot read {opts['file']}: {err}") from err
        if not prompts:
            raise CommandError("give a prompt (or --file with one prompt per line)")
        base = {
            key: opts[key]
            for key in ("model", "width", "height", "num_images", "steps", "scale", "seed", "negative_prompt",
                        "enhance_prompt")
            if opts[key] is not None
        }
        return [{**base, "prompt": prompt} for prompt in prompts]

    def _plans(self, requests: list[dict]):
        plans, problems = [], []
        for number, data in enumerate(requests, start=1):
            try:
                plans.append(plan_generation(data))
            except PlanError as err:
                detail = "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in err.errors.items())
                problems.append(f"prompt {number} ({data['prompt'][:40]!r}): {detail}")
        if problems:
            raise CommandError("invalid request, nothing was submitted:\n  " + "\n  ".join(problems))
        return plans

    # -- the run

    def _owner(self, opts):
        if not opts["user"]:
            return None, opts["client"]
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(username=opts["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {opts['user']!r}")
        return user, f"user:{user.pk}"  # the same client as the user's own requests

    def handle(self, *args, **opts):
        owner, client = self._owner(opts)
        plans = self._plans(self._requests(opts))
        waiting = not opts["no_wait"]
        if waiting and not opts["here"]:
            seen = maintenance.workers_seen()
            if not seen["clusters"]:
                self.stderr.write(self.style.WARNING(
                    "no worker has reported recently; start one (make run, or manage.py qcluster) or use --here"
                ))
        self.tty = self.stdout.isatty() and not opts["json"]
        self.deadline = time.monotonic() + opts["timeout"] if opts["timeout"] else None
        self.total = len(plans)
        for plan in plans:
            for name in plan.ignored:
                self.stderr.write(f"note: {plan.model.id} does not take {name}; it is not sent")

        tasks: list[GenerationTask] = []
        pending = list(plans)
        while pending:
            try:
                task, _created = services.task_create(plan=pending[0], client_id=client, owner=owner)
            except RateLimited as err:
                # The client's unfinished-task limit (or the user's concurrent tasks): let some finish, then go
                # on submitting. A used-up daily quota does not come back by waiting.
                daily = isinstance(err, QuotaExceeded) and (err.details or {}).get("quota") == "daily_images"
                if daily or not waiting or opts["here"]:
                    raise CommandError(f"{err.message} ({len(tasks)} of {self.total} submitted)") from err
                if any(t.status not in FINISHED for t in tasks):
                    self._wait(tasks, opts, until_one_finishes=True)
                else:  # the limit is taken by other tasks of this client
                    if self.deadline and time.monotonic() > self.deadline:
                        raise CommandError(f"{err.message} ({len(tasks)} of {self.total} submitted)") from err
                    sleep(POLL_SECONDS * 4)
                continue
            pending.pop(0)
            tasks.append(task)
            operator_command_done("generate", object_id=task.task_id)
            self._note(f"submitted {task.task_id} ({task.model}, {task.width}x{task.height}, seed {task.seed})")
            if opts["here"]:
                self._run_here(task)

        if not waiting:
            if opts["json"]:
                self.stdout.write(json.dumps([{"task_id": t.task_id, "status": t.status} for t in tasks], indent=1))
            else:
                for task in tasks:
                    self.stdout.write(task.task_id)
            return
        self._wait(tasks, opts)
        self._report(tasks, opts)

    def _note(self, line: str) -> None:
        if self.tty:
            self.stdout.write("\r\033[K", ending="")
        (self.stderr if not self.tty else self.stdout).write(line)

    def _run_here(self, task: GenerationTask) -> None:
        started = time.monotonic()
        self._note(f"running {task.task_id} in this process…")
        run.task_run(task_id=task.task_id)
        task.refresh_from_db()
        self._note(f"{task.task_id}: {task.status} in {time.monotonic() - started:.1f} s")

    def _wait(self, tasks: list[GenerationTask], opts, *, until_one_finishes: bool = False) -> None:
        ids = [t.task_id for t in tasks]
        finished_before = sum(t.status in FINISHED for t in tasks)
        last_states: dict[str, tuple] = {}
        while True:
            close_old_connections()
            rows = {
                r["task_id"]: r
                for r in GenerationTask.objects.filter(task_id__in=ids).values("task_id", "status", "stage", "progress")
            }
            for task in tasks:
                row = rows.get(task.task_id)
                if row is None:
                    task.status = Status.CANCELLED  # deleted meanwhile
                    continue
                task.status, task.stage, task.progress = row["status"], row["stage"], row["progress"]
            done = sum(t.status in FINISHED for t in tasks)
            self._show(tasks, last_states)
            if done == len(tasks) or (until_one_finishes and done > finished_before):
                if self.tty:
                    self.stdout.write("")
                return
            if self.deadline and time.monotonic() > self.deadline:
                if self.tty:
                    self.stdout.write("")
                raise CommandError(
                    f"timed out after {opts['timeout']:g} s with {len(tasks) - done} tasks unfinished "
                    "(they go on in the worker): " + " ".join(t.task_id for t in tasks if t.status not in FINISHED)
                )
            sleep(POLL_SECONDS)

    def _show(self, tasks: list[GenerationTask], last_states: dict) -> None:
        done = sum(t.status in FINISHED for t in tasks)
        if self.tty:
            share = sum(100 if t.status in FINISHED else t.progress for t in tasks) / (100 * self.total)
            filled = int(BAR_WIDTH * share)
            current = next((t for t in tasks if t.status not in FINISHED), None)
            what = f"{current.stage} {current.task_id[:8]}" if current else "done"
            self.stdout.write(
                f"\r\033[K[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share * 100:3.0f}%  "
                f"{done}/{self.total} done  {what}",
                ending="",
            )
            self.stdout.flush()
            return
        for task in tasks:  # not a terminal: one line per change
            state = (task.status, task.stage, task.progress // 25)
            if last_states.get(task.task_id) != state:
                last_states[task.task_id] = state
                self.stderr.write(f"{task.task_id}: {task.status} {task.stage} {task.progress}%")

    def _report(self, tasks: list[GenerationTask], opts) -> None:
        output = Path(opts["output"]) if opts["output"] else None
        if output:
            output.mkdir(parents=True, exist_ok=True)
        results, failures = [], 0
        local = isinstance(default_storage, FileSystemStorage)
        rows = GenerationTask.objects.filter(task_id__in=[t.task_id for t in tasks]).prefetch_related("images")
        by_id = {task.task_id: task for task in rows}
        for task in (by_id[t.task_id] for t in tasks if t.task_id in by_id):  # in the order submitted
            entry = {"task_id": task.task_id, "status": task.status, "prompt": task.prompt, "seed": task.seed,
                     "files": []}
            if task.status != Status.COMPLETED:
                failures += 1
                entry["error"] = {"code": task.error_code, "message": task.error_message}
                if not opts["json"]:
                    self.stdout.write(self.style.ERROR(
                        f"{task.task_id}: {task.status}: {task.error_code} {task.error_message}"))
            for image in sorted(task.images.all(), key=lambda i: i.index):
                if output:
                    target = output / file_name(task, image)
                    with default_storage.open(image.file_path, "rb") as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    where = str(target.resolve())
                elif local:
                    where = default_storage.path(image.file_path)
                else:
                    where = default_storage.url(image.file_path)
                entry["files"].append(where)
                if not opts["json"]:
                    self.stdout.write(where)
            results.append(entry)
        if opts["json"]:
            self.stdout.write(json.dumps(results, indent=1, ensure_ascii=False))
        if failures:
            raise CommandError(f"{failures} of {len(tasks)} tasks did not complete")
