"""Image files in the configured storage (local disk by default, S3-compatible at scale).

Every file of a task lives under the task's prefix, so whatever a crashed attempt left behind can be
found and removed without a separate index.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, default_storage

from . import imaging

log = logging.getLogger(__name__)


@dataclass
class StoredImage:
    index: int
    file_path: str
    thumbnail_path: str
    file_size: int
    thumbnail_size: int
    width: int
    height: int
    format: str
    sha256: str
    seed: int | None


def _save(path: str, data: bytes) -> str:
    # Attempt-unique names mean an existing file here is debris from this same attempt: replace it.
    if default_storage.exists(path):
        default_storage.delete(path)
    try:
        return default_storage.save(path, ContentFile(data))
    except BaseException:
        # A write that fails half-way (a full disk) leaves a partial file behind: Django's file storage
        # does not remove it. Nobody else writes this name, so whatever is there is that partial file.
        delete_files([path])
        raise


def save_reference(path: str, data: bytes) -> str:
    """Store a reference image's bytes; the name actually used."""
    return _save(path, data)


def fetchable_url(path: str, *, seconds: int) -> str:
    """A presigned URL of a stored file that anyone holding it may GET for `seconds` (S3 storage only)."""
    return default_storage.url(path, expire=seconds)


def read(path: str) -> bytes:
    with default_storage.open(path, "rb") as f:
        return f.read()


def delete_files(paths) -> None:
    for path in paths:
        if not path:
            continue
        try:
            default_storage.delete(path)
        except FileNotFoundError:
            pass
        except OSError:
            # Left for the cleanup command's orphan sweep; never fail the caller over it.
            log.warning("could not delete %s", path, exc_info=True)


def is_object_storage() -> bool:
    """The files are in object storage (IMAGEGEN_STORAGE=s3), not in the media directory."""
    return not isinstance(default_storage, FileSystemStorage)


def describe() -> str:
    """Where the files are, for an operator: the media directory, or s3://bucket/prefix."""
    if not is_object_storage():
        return str(default_storage.location)
    bucket = getattr(default_storage, "bucket_name", "?")
    location = getattr(default_storage, "location", "")
    return f"s3://{bucket}/{location}".rstrip("/")


def holds_files(roots) -> bool:
    """Whether anything is stored under one of these top-level folders (a restore's target must be empty)."""
    for root in roots:
        try:
            dirs, files = default_storage.listdir(root)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if dirs or files:
            return True
    return False


def put(path: str, handle) -> None:
    """Write a file under exactly `path`, replacing what is there (a restore puts files back under the names
    the database holds). Raises when the storage cannot keep that name."""
    name = default_storage.save(path, File(handle, name=path))
    if name != path:
        delete_files([name])
        raise OSError(f"the storage would keep {path} as {name}")


def list_prefix(prefix: str) -> list[str]:
    """Every file below `prefix` (one level: a task's files are flat)."""
    try:
        _dirs, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [f"{prefix}/{name}" for name in files]


def store_results(
    *, prefix: str, attempt: str, images: list[bytes], parameters: list[str], seeds: list[int | None], thumbnail_side: int
) -> list[StoredImage]:
    """Check, annotate and write each result and its thumbnail. All or nothing: on any error the files
    written so far are removed and the error is raised (ImageDataError for bad data, OSError for storage)."""
    written: list[str] = []
    stored: list[StoredImage] = []
    try:
        for index, data in enumerate(images):
            info = imaging.inspect_image(data)
            if info.format == "png":
                data = imaging.embed_png_parameters(data, parameters[index])
            thumb, _tw, _th = imaging.make_thumbnail(data, max_side=thumbnail_side)
            file_path = _save(f"{prefix}/{attempt}-{index}.{info.extension}", data)
            written.append(file_path)
            thumbnail_path = _save(f"{prefix}/{attempt}-{index}.thumb.webp", thumb)
            written.append(thumbnail_path)
            stored.append(
                StoredImage(
                    index=index,
                    file_path=file_path,
                    thumbnail_path=thumbnail_path,
                    file_size=len(data),
                    thumbnail_size=len(thumb),
                    width=info.width,
                    height=info.height,
                    format=info.format,
                    sha256=hashlib.sha256(data).hexdigest(),
                    seed=seeds[index],
                )
            )
    except BaseException:
        delete_files(written)
        raise
    return stored
