"""Generation tasks and the images they produce (the seed design's `tasks` and `images` tables).

The task row is the single source of truth for a generation: the queue only carries its id. The model
owns its state machine; services move it with compare-and-set updates so two workers can never both
own a task.
"""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSING = "processing", _("Processing")
    RETRYING = "retrying", _("Retrying")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


UNFINISHED = (Status.PENDING, Status.PROCESSING, Status.RETRYING)
FINISHED = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)


class Stage(models.TextChoices):
    QUEUED = "queued", _("Waiting for a worker")
    QUEUED_UPSTREAM = "queued_upstream", _("Queued at the image service")
    GENERATING = "generating", _("Generating")
    DOWNLOADING = "downloading", _("Downloading")
    SAVING = "saving", _("Saving")
    WAITING_RETRY = "waiting_retry", _("Waiting to retry")
    DONE = "done", _("Done")


def new_task_id() -> str:
    return str(uuid.uuid4())


def new_image_id() -> str:
    # "img_" + 32 hex digits: 36 characters, the seed design's VARCHAR(36).
    return "img_" + uuid.uuid4().hex


# The only shapes ids are ever made in. Anything else in a URL or a list of ids is forged: it is "not
# found" before any query (a NUL byte or a 10 kB id never reaches the database).
TASK_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
IMAGE_ID_PATTERN = r"^img_[0-9a-f]{32}$"
_TASK_ID = re.compile(TASK_ID_PATTERN.replace("$", r"\Z"))
_IMAGE_ID = re.compile(IMAGE_ID_PATTERN.replace("$", r"\Z"))


def is_task_id(value) -> bool:
    return isinstance(value, str) and _TASK_ID.match(value) is not None


def is_image_id(value) -> bool:
    return isinstance(value, str) and _IMAGE_ID.match(value) is not None


class GenerationTask(models.Model):
    """One generation request and its lifecycle. Named so it never clashes with django-q2's `Task`."""

    task_id = models.CharField(max_length=36, unique=True, default=new_task_id, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)

    # What was asked for (the output size; the upstream size is derived from the model's rules).
    prompt = models.TextField()
    negative_prompt = models.TextField(blank=True, default="")
    model = models.CharField(max_length=50)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    num_images = models.PositiveSmallIntegerField(default=1)
    # Group generation (Ark's sequential_image_generation "auto"): one request for up to num_images related
    # images, the model deciding how many; otherwise num_images single-image requests.
    group = models.BooleanField(default=False)
    steps = models.PositiveIntegerField(null=True, blank=True)
    scale = models.FloatField(null=True, blank=True)
    # The seed actually used: a request without one gets a random seed here, so every result reproduces.
    seed = models.BigIntegerField(null=True, blank=True)
    enhance_prompt = models.BooleanField(null=True, blank=True)
    upstream_width = models.PositiveIntegerField()
    upstream_height = models.PositiveIntegerField()
    use_sr = models.BooleanField(default=False)
    ignored_params = models.JSONField(default=list, blank=True)
    engine = models.CharField(max_length=20)

    # Outcome.
    error_code = models.CharField(max_length=50, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    upstream_error_code = models.CharField(max_length=50, blank=True, default="")
    upstream_request_id = models.CharField(max_length=100, blank=True, default="")
    upstream_task_id = models.CharField(max_length=100, blank=True, default="")
    revised_prompt = models.TextField(blank=True, default="")
    # What the service billed (NULL until the task finishes): images (CV bills each returned image; Ark
    # reports usage.generated_images) and, where Ark reports them, tokens.
    images_billed = models.PositiveSmallIntegerField(_("images billed"), null=True, blank=True)
    tokens_billed = models.PositiveIntegerField(_("tokens billed"), null=True, blank=True)
    # The model's price when the task was created, copied from the price table (cost_models.Price) so a later
    # change never rewrites what this task cost; NULL when the model had no price. cost = images_billed × price.
    price_per_image = models.DecimalField(_("price per image"), max_digits=12, decimal_places=6, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True, default="")
    cost = models.DecimalField(_("cost"), max_digits=14, decimal_places=6, null=True, blank=True)

    # Execution bookkeeping.
    attempts = models.PositiveSmallIntegerField(default=0)  # engine calls started (a crash counts)
    retry_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_holder = models.CharField(max_length=120, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # Staff moved it to the front of the queue (> 0): a worker takes waiting tasks with a higher priority
    # first, before the fair rule (generation.scheduling.next_claimable). Its owner moved it ahead of their
    # own other tasks (< 0, the latest move lowest): that orders only the client's own tasks.
    priority = models.SmallIntegerField(_("priority"), default=0)
    # The batch it was submitted in (POST /api/v1/batches), or "": its public id, so a task's JSON needs no join.
    batch_id = models.CharField(_("batch"), max_length=38, blank=True, default="")
    # Where to POST its events (README, "Webhooks"), and which: "" and [] when none was asked for.
    webhook_url = models.CharField(_("webhook"), max_length=2000, blank=True, default="")
    webhook_events = models.JSONField(_("webhook events"), default=list, blank=True)

    # Whose it is (accounts mode; NULL in open mode). PROTECT: a user with tasks is deactivated, not deleted,
    # so paid images and their files are never dropped by a cascade. The composite indexes below lead with
    # it, so it needs no index of its own.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="generation_tasks", db_index=False, verbose_name=_("owner"))
    # Who asked, and the client's idempotency key (unique per client; a user is one client in accounts mode).
    client_id = models.CharField(max_length=64, blank=True, default="")
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")

    created_at = models.DateTimeField(default=timezone.now)
    # When staff last ran it again (NULL: never): its new run counts in that period's quota and caps
    # (generation/counted.py), as it is asked of the image service, and billed, then.
    retried_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # In the trash since (NULL: not in it). A trashed task is gone from every list, search and share link;
    # restoring it brings it back unchanged; the daily cleanup purges it after IMAGEGEN_TRASH_DAYS. Only a
    # finished task is ever trashed (and a trashed one is never retried), so unfinished rows are all live.
    deleted_at = models.DateTimeField(_("in the trash since"), null=True, blank=True)

    class Meta:
        db_table = "tasks"
        ordering = ["-created_at", "-id"]
        verbose_name = _("generation task")
        verbose_name_plural = _("generation tasks")
        indexes = [
            # The seed design's idx_status / idx_created_at: lists newest first, filtered by status.
            # Every list orders by (created_at, id): with id in the index, no sort step, and deep pages
            # are an index walk.
            models.Index(fields=["status", "-created_at", "-id"], name="idx_task_status_created"),
            # With status and deleted_at in it, history (everything not unfinished and not in the trash) walks
            # this index alone: its deep pages never read a table row to learn a status or the trash.
            models.Index(fields=["-created_at", "-id", "status", "deleted_at"], name="idx_task_created_status"),
            # Per-client unfinished-task limit, counted inside the create transaction.
            models.Index(fields=["client_id", "status"], name="idx_task_client_status"),
            # One user's lists (accounts mode), filtered by status or not; their quota counts.
            models.Index(fields=["owner", "-created_at", "-id"], name="idx_task_owner_created"),
            models.Index(fields=["owner", "status", "-created_at", "-id"], name="idx_task_owner_status"),
            # The narrowest index of the table, for the lists' totals: SQLite counts a table by walking its
            # narrowest index page by page, and this one has a tenth of the pages of the others (100,000 tasks:
            # 0.02 ms against 1.8 ms on idx_task_owner_created), for everyone's tasks or one user's.
            models.Index(fields=["owner"], name="idx_task_owner"),
            # The fair claim: when each client's latest task started.
            models.Index(fields=["client_id", "-started_at"], name="idx_task_client_started"),
            # Recovery sweeps: expired leases among unfinished tasks.
            models.Index(fields=["status", "lease_expires_at"], name="idx_task_status_lease"),
            # Lists filtered by model; durations per model for estimates.
            models.Index(fields=["model", "status", "-completed_at"], name="idx_task_model_status_done"),
            # Lists filtered by model, newest first.
            models.Index(fields=["model", "-created_at", "-id"], name="idx_task_model_created"),
            # A batch's tasks, in the order they were made.
            models.Index(fields=["batch_id", "created_at", "id"], name="idx_task_batch",
                         condition=~models.Q(batch_id="")),
            # The trash: its list (one owner's or everyone's, last deleted first), its count and the daily purge
            # of what has been there too long. Partial: as small as the trash.
            models.Index(fields=["owner", "-deleted_at"], name="idx_task_trash",
                         condition=models.Q(deleted_at__isnull=False)),
            # Retried tasks count in the period of their retry (generation/counted.py). Partial: as small as
            # the set of retried tasks.
            models.Index(fields=["retried_at"], name="idx_task_retried", condition=models.Q(retried_at__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client_id", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="uniq_task_client_idempotency_key",
            ),
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="task_progress_at_most_100"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def duration(self):
        if self.started_at and self.completed_at:
            return self.completed_at - self.started_at
        return None

    def file_prefix(self) -> str:
        """Where this task's files live in storage; everything below it belongs to this task."""
        return f"images/{self.task_id[:2]}/{self.task_id}"


def new_batch_id() -> str:
    return "batch_" + uuid.uuid4().hex


BATCH_ID_PATTERN = r"^batch_[0-9a-f]{32}$"
_BATCH_ID = re.compile(BATCH_ID_PATTERN.replace("$", r"\Z"))


def is_batch_id(value) -> bool:
    return isinstance(value, str) and _BATCH_ID.match(value) is not None


class Batch(models.Model):
    """One request that made several ordinary tasks (N variations, several prompts, or a sweep over one
    parameter). The tasks carry its id; the row keeps who asked and the request's idempotency key."""

    batch_id = models.CharField(max_length=38, unique=True, default=new_batch_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="generation_batches", verbose_name=_("owner"))
    client_id = models.CharField(max_length=64, blank=True, default="")
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    # What varies from task to task: variations | prompts | seed | size | model (several: joined by "+").
    kind = models.CharField(max_length=40)
    size = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "batches"
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        constraints = [
            models.UniqueConstraint(
                fields=["client_id", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="uniq_batch_client_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id} ({self.size} tasks)"


class Image(models.Model):
    """A stored result image (the seed design's `images` table). Files are owned by the row."""

    image_id = models.CharField(max_length=36, unique=True, default=new_image_id, editable=False)
    task = models.ForeignKey(GenerationTask, on_delete=models.CASCADE, related_name="images")
    # The task's owner, copied: one user's gallery is then an index walk, with no join to the tasks.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="generation_images", db_index=False, verbose_name=_("owner"))
    index = models.PositiveSmallIntegerField(default=0)  # position within the task's results
    file_path = models.CharField(max_length=255)
    thumbnail_path = models.CharField(max_length=255)
    file_size = models.PositiveIntegerField()
    thumbnail_size = models.PositiveIntegerField(default=0)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=10)  # png | jpeg | webp
    sha256 = models.CharField(max_length=64)
    seed = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # In the trash since (NULL: not in it): put there alone, or with its task (then at the task's moment).
    deleted_at = models.DateTimeField(_("in the trash since"), null=True, blank=True)

    class Meta:
        db_table = "images"
        ordering = ["-created_at", "-id"]
        verbose_name = _("image")
        verbose_name_plural = _("images")
        indexes = [
            # The seed design's idx_task_id_fk is the FK index Django creates; this one serves the gallery grid.
            # deleted_at last: the grid's count and deep pages skip the trash without reading table rows.
            models.Index(fields=["-created_at", "-id", "deleted_at"], name="idx_image_created"),
            models.Index(fields=["owner", "-created_at", "-id", "deleted_at"], name="idx_image_owner_created"),
            # The gallery's total, everyone's or one user's: the narrowest index to count (see idx_task_owner).
            models.Index(fields=["owner"], name="idx_image_owner"),
            models.Index(fields=["owner", "-deleted_at"], name="idx_image_trash",
                         condition=models.Q(deleted_at__isnull=False)),
        ]
        constraints = [
            # One image per position per task: a re-run after a crash can never add a second set.
            models.UniqueConstraint(fields=["task", "index"], name="uniq_image_task_index"),
        ]

    def __str__(self) -> str:
        return self.image_id

    @property
    def mime_type(self) -> str:
        return {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}.get(self.format, "application/octet-stream")

    @property
    def extension(self) -> str:
        return {"jpeg": "jpg"}.get(self.format, self.format)


class UpstreamSlot(models.Model):
    """One unit of the upstream account's concurrency (VOLC_MAX_CONCURRENCY rows are used).

    A worker holds a slot while it has a generation in flight upstream, so all workers on all machines
    together never exceed the account's limit. A slot whose holder died frees itself when it expires."""

    slot = models.PositiveIntegerField(unique=True)
    holder = models.CharField(max_length=120, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "upstream_slots"
        ordering = ["slot"]
        verbose_name = _("upstream concurrency slot")
        verbose_name_plural = _("upstream concurrency slots")

    def __str__(self) -> str:
        return f"slot {self.slot}: {self.holder or 'free'}"


class WorkerCluster(models.Model):
    """One django-q2 cluster run by a supervisor (`manage.py serve`, the worker container), and the
    heartbeat its worker processes write each time they take a queue message or finish one.

    The supervisor creates the row and counts its restarts here; `/api/v1/health`, `queue_status` and
    `/metrics` read it from any process or machine. See generation/supervision.py."""

    cluster_key = models.CharField(max_length=120, unique=True)
    host = models.CharField(max_length=255)
    supervisor_pid = models.IntegerField(null=True, blank=True)
    pid = models.IntegerField(null=True, blank=True)  # the current qcluster main process
    started_at = models.DateTimeField()  # when the current cluster process was started
    taken_at = models.DateTimeField(null=True, blank=True)  # a worker took a message
    finished_at = models.DateTimeField(null=True, blank=True)  # a worker finished one
    restarts = models.PositiveIntegerField(default=0)  # clusters replaced because they stalled
    last_restart_at = models.DateTimeField(null=True, blank=True)
    last_restart_reason = models.CharField(max_length=300, blank=True, default="")
    stopped_at = models.DateTimeField(null=True, blank=True)  # the supervisor stopped (row kept for the counter)

    class Meta:
        db_table = "worker_clusters"
        ordering = ["-started_at"]
        verbose_name = _("worker cluster")
        verbose_name_plural = _("worker clusters")

    def __str__(self) -> str:
        return self.cluster_key


# --- Tags on images (the seed design's `user_tags` table): one row per (image, tag) -----------------------------

MAX_TAG_LENGTH = 50


class ImageTag(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="tags")
    # The image's owner, copied (accounts mode): one user's tag counts need no join.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="image_tags", db_index=False, verbose_name=_("owner"))
    tag_name = models.CharField(max_length=MAX_TAG_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "user_tags"
        ordering = ["tag_name"]
        verbose_name = _("image tag")
        verbose_name_plural = _("image tags")
        indexes = [
            # The seed design's idx_tag_name: filter the gallery and task lists by tag.
            models.Index(fields=["tag_name"], name="idx_tag_name"),
            models.Index(fields=["owner", "tag_name"], name="idx_tag_owner_name"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["image", "tag_name"], name="uniq_tag_per_image"),
        ]

    def __str__(self) -> str:
        return self.tag_name


from .cost_models import Price, SpendingCap  # noqa: E402,F401  (Django finds them here)
from .quota_models import Quota  # noqa: E402,F401  (Django finds it here)
from .webhook_models import WebhookAttempt, WebhookDelivery, WebhookSecret  # noqa: E402,F401  (Django finds them here)


def new_reference_id() -> str:
    return "ref_" + uuid.uuid4().hex


def is_reference_id(value) -> bool:
    return isinstance(value, str) and re.fullmatch(r"ref_[0-9a-f]{32}", value) is not None


class Reference(models.Model):
    """A reference image (an input of a task, README "Reference images"). An upload (POST /api/v1/references)
    starts unattached (task NULL); a task gets its own copy of every reference it names, so deleting the
    upload, the gallery image it came from, or another task never takes a task's inputs away. Files live
    under references/, outside images/: the cleanup's orphan sweep and a crashed attempt's debris sweep
    judge files there by image rows, which would take these for debris."""

    reference_id = models.CharField(max_length=36, unique=True, default=new_reference_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="generation_references", verbose_name=_("owner"))
    client_id = models.CharField(max_length=64, blank=True, default="")
    task = models.ForeignKey(GenerationTask, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="references")
    index = models.PositiveSmallIntegerField(default=0)  # position among the task's references
    file_path = models.CharField(max_length=255)
    file_size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=10)  # png | jpeg | webp
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "reference_images"  # not "references", an SQL keyword
        ordering = ["task_id", "index", "id"]
        verbose_name = _("reference image")
        verbose_name_plural = _("reference images")
        indexes = [
            # The cleanup of uploads no task took: unattached rows, oldest first.
            models.Index(fields=["created_at"], name="idx_reference_unattached",
                         condition=models.Q(task__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.reference_id

    @property
    def mime_type(self) -> str:
        return {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}.get(self.format, "application/octet-stream")

    @property
    def extension(self) -> str:
        return {"jpeg": "jpg"}.get(self.format, self.format)
