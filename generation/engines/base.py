"""The engine interface: generate images for a validated request, report capabilities.

An engine never touches the database. It reports what it is doing through `progress`, and it checks
`progress.cancelled()` between steps so that a cancelled task stops spending quota.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class EngineRequest:
    """What an engine is asked to make. Sizes are the upstream ones (half the output with use_sr)."""

    model: str  # the catalogue id (VolcEngine req_key, or Ark model id)
    action: str  # "sync" | "async"
    prompt: str
    negative_prompt: str | None
    width: int  # output width the user asked for
    height: int
    upstream_width: int
    upstream_height: int
    use_sr: bool
    num_images: int
    steps: int | None
    scale: float | None
    seed: int  # always concrete: a random seed was chosen and recorded before the call
    enhance_prompt: bool | None
    # A previous attempt of this task already submitted upstream: resume polling instead of paying again.
    upstream_task_id: str = ""
    # Reference images in order: data URLs ("data:image/png;base64,…", lowercase format as Ark requires), or
    # presigned URLs for a model that takes only addresses it fetches itself (ModelSpec.references_need_url).
    reference_images: tuple[str, ...] = ()
    group: bool = False  # one group-generation request for up to num_images images (Ark 4.x)


@dataclass
class EngineResult:
    images: list[bytes]
    upstream_request_id: str = ""
    upstream_task_id: str = ""
    # The prompt as the service rewrote it (prompt enhancement), when it says.
    revised_prompt: str = ""
    # Images asked for but not made, one "code: message" each (Ark: a per-image failure inside an answer,
    # or a failure after earlier images came back). The task completes with the images it has and
    # records these in its error_message (README, "The Ark engine").
    partial_failures: list[str] = field(default_factory=list)
    # What the service billed for this result: images (None: one per returned image, as CV bills), and
    # tokens where the service reports them (Ark's usage.total_tokens). The preview engine bills nothing.
    images_billed: int | None = None
    tokens_billed: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass(kw_only=True, repr=False, eq=False)
class RemoteEngine:
    """What the engines that call a service share: their timeouts, and one SDK client per thread, made on first
    use (neither SDK documents its client as safe to share between threads; the CV one is a singleton whose
    constructor resets it). Each engine is a dataclass of its settings and writes its own repr, which never
    shows a key."""

    is_preview = False

    connect_timeout: float
    read_timeout: float

    def __post_init__(self):
        self._local = threading.local()

    def _client(self):
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._new_client()
        return client

    def _new_client(self):
        raise NotImplementedError


class Retry(enum.StrEnum):
    """What the error taxonomy says to do after a failure."""

    NEVER = "never"
    BACKOFF = "backoff"  # transient: retry with exponential backoff and jitter, within the attempt budget
    ONCE = "once"  # retry at most once, after a delay
    ONCE_NEW_SEED = "once_new_seed"  # retry at most once with another seed (output moderation)


class EngineError(Exception):
    """A failed generation. `code` is ours (stable, documented); `upstream_code` is the service's."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retry: Retry = Retry.NEVER,
        upstream_code: str = "",
        upstream_message: str = "",
        request_id: str = "",
        upstream_task_id: str = "",
        delay: float | None = None,
        reached: bool = True,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry = retry
        self.upstream_code = upstream_code
        self.upstream_message = upstream_message
        self.request_id = request_id
        self.upstream_task_id = upstream_task_id
        self.delay = delay
        # False when the request never reached the service (connection refused): nothing was done or billed.
        self.reached = reached


class Cancelled(Exception):
    """The task was cancelled while the engine was working; whatever was made is discarded."""


class Progress(Protocol):
    def stage(self, stage: str, *, fraction: float | None = None, upstream_task_id: str = "") -> None:
        """Report the current stage and, when known, how far through it (0..1)."""

    def cancelled(self) -> bool:
        """True once the task was cancelled; the engine should stop at the next safe point."""

    def extend(self, seconds: float) -> None:
        """Promise to report again within `seconds` (keeps the task's lease alive)."""

    def upstream_slot(self, seconds: float):
        """A context manager holding one unit of the account's upstream concurrency for the block; it
        yields a callable that extends the hold by `seconds` (call it while polling a long job)."""

    def image_budget(self, key: str, per_minute: int) -> None:
        """Wait until one more image fits the shared per-minute budget `key` (Ark's images-per-minute
        limit); raises Cancelled when the task is cancelled meanwhile."""


class Engine(Protocol):
    name: str
    label: str
    is_preview: bool

    def generate(self, request: EngineRequest, progress: Progress) -> EngineResult: ...

    def check(self) -> dict:
        """Cheap configuration check for /api/v1/health: {"ok": bool, "detail": str}. No network call."""
