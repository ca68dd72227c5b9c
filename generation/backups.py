"""Backups: a consistent copy of the database, made while the app keeps running (SQLite's online backup API;
on PostgreSQL, pg_dump of an exported snapshot), plus the image files it references, in one timestamped
.tar.gz; and the restore of such an archive into an empty installation.

Archive layout (format 1):
    manifest.json          format, creation time, app version, counts, file list with sizes and sha256
    db.sqlite3             the SQLite database snapshot (rollback-journal mode, self-contained), or
    db.pgdump              the PostgreSQL snapshot (pg_dump's custom format, restored with pg_restore)
    media/<path>           every original and thumbnail an image row of the snapshot references, and every
                           reference image (uploads and the tasks' copies) a reference row names

Files are taken from the snapshot's image rows, not from a directory listing, so the archive is exactly
the snapshot's images (no debris of running tasks, no files of tasks deleted before the snapshot). A file
deleted between the snapshot and its copy is reported as missing; `cleanup` removes such rows after a
restore. On PostgreSQL the file list is read inside the very snapshot that pg_dump writes (REPEATABLE READ,
pg_export_snapshot, pg_dump --snapshot), so the database and the files are one consistent pair there too.

Files are read and written through the app's storage (generation.storage, default_storage): with
IMAGEGEN_STORAGE=s3 a backup reads them from the bucket, and a restore writes them into it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from core.version import VERSION

from . import storage
from .models import Reference

FORMAT = 1
DB_NAME = "db.sqlite3"
PG_DUMP_NAME = "db.pgdump"
MANIFEST = "manifest.json"
MEDIA = "media"
MEDIA_ROOTS = ("images", "references")  # the app's top-level folders in storage (a restore's target must not hold them)
# A backup from object storage reads, and a restore into it puts, this many files at once: a bucket answers
# each request in a round trip, and an installation holds one to three files per image. Each in flight is one
# staged file on disk.
BUCKET_REQUESTS_AT_ONCE = 8


class BackupError(Exception):
    pass


Progress = Callable[[str, int, int], None]


@dataclass
class BackupResult:
    path: Path
    tasks: int
    images: int
    files: int
    bytes: int
    missing: list[str] = field(default_factory=list)


@dataclass
class RestoreResult:
    tasks: int
    images: int
    files: int
    bytes: int
    mismatched: list[str] = field(default_factory=list)


def _no_progress(what: str, done: int, total: int) -> None:
    pass


class _HashingReader:
    """A file wrapper that hashes what is read through it."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data

    def hexdigest(self) -> str:
        return self.digest.hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _counts(db: sqlite3.Connection) -> tuple[int, int]:
    tasks = db.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
    images = db.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    return tasks, images


def snapshot_database(target: Path, *, progress: Progress = _no_progress) -> None:
    """Copy the live database into `target` with SQLite's online backup API (never a file copy: a copy of
    a WAL database taken while it is written can be torn)."""
    if connection.vendor != "sqlite":
        raise BackupError(f"the online backup API is SQLite's (this database is {connection.vendor})")
    connection.ensure_connection()
    source = connection.connection
    target.parent.mkdir(parents=True, exist_ok=True)
    destination = sqlite3.connect(target)
    try:
        # Pages are copied in steps; a write by another process in between restarts the copy, so the
        # result is always one consistent state of the database.
        source.backup(destination, pages=1024, progress=lambda status, remaining, total: progress(
            "database pages", total - remaining, total))
        destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        check = destination.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the database copy failed its integrity check: {check}")
    finally:
        destination.close()


def backup_create(
    *, output: Path | None = None, include_media: bool = True, progress: Progress = _no_progress
) -> BackupResult:
    """Write a backup archive. `output` is a directory (a timestamped name is chosen) or a file name."""
    from django.conf import settings

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    output = Path(output) if output else Path(settings.IMAGEGEN_BACKUP_DIR)
    if output.suffix != ".gz" and not output.name.endswith(".tar.gz"):
        output = output / f"imagegen-backup-{stamp}.tar.gz"
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():
        raise BackupError(f"{output} already exists")

    with tempfile.TemporaryDirectory(prefix="imagegen-backup-", dir=output.parent) as work:
        if connection.vendor == "postgresql":
            db_copy = Path(work) / PG_DUMP_NAME
            tasks, images, rows = _pg_snapshot(db_copy, progress)
        else:
            db_copy = Path(work) / DB_NAME
            snapshot_database(db_copy, progress=progress)
            snapshot = sqlite3.connect(db_copy)
            try:
                tasks, images = _counts(snapshot)
                rows = snapshot.execute("SELECT file_path, thumbnail_path FROM images ORDER BY id").fetchall()
                rows += snapshot.execute(f"SELECT file_path, NULL FROM {Reference._meta.db_table}").fetchall()
            finally:
                snapshot.close()
        paths = sorted({p for row in rows for p in row if p}) if include_media else []

        files, missing, total_bytes = [], [], 0
        partial = output.with_name(output.name + ".partial")
        try:
            # 0600 from its first byte: the archive holds the whole database (sessions, token digests).
            os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            partial.chmod(0o600)
            with tarfile.open(partial, "w:gz", compresslevel=6) as tar, \
                    closing(_read_files(paths, Path(work))) as stored:
                tar.add(db_copy, arcname=db_copy.name)
                for done, (name, size, handle) in enumerate(stored, start=1):
                    if handle is None:
                        missing.append(name)
                        continue
                    info = tarfile.TarInfo(f"{MEDIA}/{name}")
                    info.size, info.mtime, info.mode = size, int(timezone.now().timestamp()), 0o640
                    with handle:
                        reader = _HashingReader(handle)
                        tar.addfile(info, reader)  # streamed: never a whole image in memory
                    files.append({"path": name, "size": size, "sha256": reader.hexdigest()})
                    total_bytes += size
                    if done % 50 == 0 or done == len(paths):
                        progress("image files", done, len(paths))
                manifest = {
                    "format": FORMAT,
                    "app": "imagegen",
                    "version": VERSION,
                    "created_at": timezone.now().isoformat(),
                    "database": {"vendor": connection.vendor, "file": db_copy.name, "sha256": _sha256_file(db_copy), "tasks": tasks, "images": images},
                    "media": {"included": include_media, "files": files, "missing": missing},
                }
                data = json.dumps(manifest, indent=1, ensure_ascii=False).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(data), int(timezone.now().timestamp()), 0o640
                tar.addfile(info, io.BytesIO(data))
            os.replace(partial, output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupResult(path=output, tasks=tasks, images=images, files=len(files), bytes=total_bytes, missing=missing)


def _open_stored(name: str):
    """(size, open handle) of a stored file, or (None, None) when it is missing."""
    try:
        return default_storage.size(name), default_storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        return None, None
    except Exception as err:  # object storage: not a missing file (denied, unreachable)
        raise BackupError(f"could not read {name} from {storage.describe()}: {err}") from err


def _read_files(paths: list[str], work: Path):
    """(name, size, open handle or None if missing) for each path, in order. From a bucket, which answers
    each read in a round trip, the next BUCKET_REQUESTS_AT_ONCE files are fetched ahead, each into a staged
    file (so that no image is held in memory) that is gone once its handle is closed."""
    if not storage.is_object_storage():
        for name in paths:
            yield name, *_open_stored(name)
        return

    def fetch(name: str, staged: Path) -> int | None:
        size, handle = _open_stored(name)
        if handle is None:
            return None
        with handle, open(staged, "wb") as dst:
            shutil.copyfileobj(handle, dst, 1 << 20)
        return staged.stat().st_size  # what was read, should the object have changed since its size was asked

    pool = ThreadPoolExecutor(max_workers=BUCKET_REQUESTS_AT_ONCE, thread_name_prefix="backup-get")
    ahead: deque[tuple[str, Path, Future]] = deque()
    names = iter(enumerate(paths))
    try:
        while True:
            while len(ahead) < BUCKET_REQUESTS_AT_ONCE and (item := next(names, None)) is not None:
                number, name = item
                staged = work / f"fetched-{number}"
                ahead.append((name, staged, pool.submit(fetch, name, staged)))
            if not ahead:
                return
            name, staged, future = ahead.popleft()
            size = future.result()
            if size is None:
                yield name, None, None
                continue
            handle = open(staged, "rb")
            staged.unlink()  # the open handle keeps the data until it is closed
            yield name, size, handle
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for _name, staged, _future in ahead:
            staged.unlink(missing_ok=True)


def _pg_env() -> dict:
    """pg_dump's and pg_restore's connection, from the configured database (the password in the environment,
    never on a command line)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    env = {**os.environ, "PGDATABASE": db["NAME"], "PGUSER": db.get("USER") or "", "PGHOST": db.get("HOST") or "",
           "PGPORT": str(db.get("PORT") or "")}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return {k: v for k, v in env.items() if v != ""}


def _run_pg(args: list[str]) -> None:
    if shutil.which(args[0]) is None:
        raise BackupError(f"{args[0]} is not installed (PostgreSQL's client tools: apt-get install postgresql-client)")
    done = subprocess.run(args, env=_pg_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{args[0]} failed: {done.stderr.strip()[-2000:]}")


def _pg_snapshot(target: Path, progress: Progress) -> tuple[int, int, list[tuple]]:
    """pg_dump of one exported snapshot, and the counts and image rows read in that same snapshot."""
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM tasks")
        tasks = cursor.fetchone()[0]
        cursor.execute("SELECT file_path, thumbnail_path FROM images ORDER BY id")
        rows = cursor.fetchall()
        images = len(rows)
        cursor.execute(f"SELECT file_path, NULL FROM {Reference._meta.db_table}")
        rows += cursor.fetchall()
        progress("database", 0, 1)
        # The snapshot lives as long as this transaction: pg_dump must finish inside it.
        _run_pg(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                 f"--file={target}"])
        progress("database", 1, 1)
    return tasks, images, rows


def pg_database_is_empty() -> bool:
    """No tasks and no users: a fresh installation (migrated or not)."""
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in ("tasks", "auth_user"):
            if table in tables:
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {connection.ops.quote_name(table)})")
                if cursor.fetchone()[0]:
                    return False
    return True


def pg_restore(dump: Path) -> None:
    """Replace the configured PostgreSQL database's objects with the dump's, in one transaction."""
    from django.db import connections

    connections.close_all()
    _run_pg(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
             "--exit-on-error", "--dbname", _pg_env()["PGDATABASE"], str(dump)])


# --- Restore --------------------------------------------------------------------------------------------


def _safe_member_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"unsafe path in the archive: {name!r}")
    return path


def _database_is_empty(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type='table'").fetchone()[0] == 0
    finally:
        db.close()


def read_manifest(archive: Path) -> dict:
    with tarfile.open(archive, "r:gz") as tar:
        try:
            member = tar.getmember(MANIFEST)
        except KeyError:
            raise BackupError(f"{archive} is not an imagegen backup (no {MANIFEST})") from None
        manifest = json.load(tar.extractfile(member))
    if manifest.get("app") != "imagegen" or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive}: unsupported backup format {manifest.get('format')!r}")
    return manifest


def backup_restore(
    *, archive: Path, db_path: Path, media_root: Path | None, force: bool = False, progress: Progress = _no_progress
) -> RestoreResult:
    """Restore an archive into `db_path` and `media_root`, which must be empty unless `force`. With
    `media_root` None the files go into the app's storage (generation.storage: the configured bucket with
    IMAGEGEN_STORAGE=s3), which must hold nothing under the app's folders (images/, references/) unless `force`.

    Stop the web server and the worker first. Every file is checked against the sha256 the archive lists
    (and originals against the database's own sha256). The database goes in last: a restore that fails
    before (a file that cannot be written, a damaged archive) leaves the database as it was and removes the
    files it had added."""
    archive, db_path = Path(archive), Path(db_path)
    media_root = Path(media_root) if media_root is not None else None
    manifest = read_manifest(archive)
    postgres = manifest["database"].get("vendor") == "postgresql"
    if postgres != (connection.vendor == "postgresql"):
        raise BackupError(f"this backup holds a {manifest['database'].get('vendor')} database and this installation "
                          f"uses {connection.vendor}")
    if not force:
        if postgres and not pg_database_is_empty():
            raise BackupError("the PostgreSQL database already holds tasks or users; restore into a fresh "
                              "installation or pass --force to replace them")
        if not postgres and not _database_is_empty(db_path):
            raise BackupError(f"{db_path} already holds a database; restore into an empty data directory "
                              "or pass --force to replace it")
        if media_root is not None and media_root.exists() and any(p.is_file() for p in media_root.rglob("*")):
            raise BackupError(f"{media_root} already holds files; restore into an empty data directory "
                              "or pass --force")
        if media_root is None:
            roots = sorted(set(MEDIA_ROOTS) | {PurePosixPath(f["path"]).parts[0] for f in manifest["media"]["files"]})
            try:
                occupied = storage.holds_files(roots)
            except Exception as err:
                raise BackupError(f"cannot list {storage.describe()}: {err}") from err
            if occupied:
                raise BackupError(f"{storage.describe()} already holds files under {', '.join(r + '/' for r in roots)}; "
                                  "restore into an empty bucket (or prefix) or pass --force")
    expected = {f["path"]: f for f in manifest["media"]["files"]}
    mismatched: list[str] = []
    restored_files = restored_bytes = 0
    if not postgres:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    if media_root is not None:
        media_root.mkdir(parents=True, exist_ok=True)
    added: list[str] = []  # files this restore created (none was there before): removed again if it fails
    uploads: _Uploads | None = None
    committed = False
    try:
        with tarfile.open(archive, "r:gz") as tar, \
                tempfile.TemporaryDirectory(dir=None if postgres else db_path.parent) as work:
            members = tar.getmembers()
            total = sum(1 for m in members if m.name.startswith(f"{MEDIA}/"))
            done = 0
            image_hashes: dict[str, str] | None = None
            tasks = images = 0
            for member in members:
                path = _safe_member_path(member.name)
                if not member.isfile():
                    continue
                if member.name == PG_DUMP_NAME and postgres:
                    staged = Path(work) / PG_DUMP_NAME
                    with tar.extractfile(member) as src, open(staged, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    if _sha256_file(staged) != manifest["database"]["sha256"]:
                        raise BackupError("the database in the archive does not match its checksum")
                    image_hashes = {}
                    continue
                if member.name == DB_NAME:
                    staged = Path(work) / DB_NAME
                    with tar.extractfile(member) as src, open(staged, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    if _sha256_file(staged) != manifest["database"]["sha256"]:
                        raise BackupError("the database in the archive does not match its checksum")
                    db = sqlite3.connect(staged)
                    try:
                        check = db.execute("PRAGMA quick_check").fetchone()[0]
                        tasks, images = _counts(db)
                        image_hashes = dict(db.execute("SELECT file_path, sha256 FROM images").fetchall())
                    finally:
                        db.close()
                    if check != "ok":
                        raise BackupError(f"the database in the archive failed its integrity check: {check}")
                    continue
                if path.parts[0] != MEDIA or len(path.parts) < 2:
                    continue
                relative = PurePosixPath(*path.parts[1:])
                if media_root is not None:
                    sha = _restore_to_disk(tar, member, relative, media_root, added)
                else:
                    if uploads is None:
                        uploads = _Uploads(Path(work), force, added)
                    sha = uploads.add(tar, member, relative)
                listed = expected.get(str(relative))
                if listed is None or listed["sha256"] != sha:
                    mismatched.append(str(relative))
                restored_files += 1
                restored_bytes += member.size
                done += 1
                if done % 50 == 0 or done == total:
                    progress("image files", done, total)

            if uploads is not None:
                uploads.finish()  # every file is in the bucket before the database goes in
            if image_hashes is None:
                raise BackupError(f"{archive} holds no {PG_DUMP_NAME if postgres else DB_NAME}")
            if postgres:
                # The files are in place; the database goes in last, in one transaction.
                pg_restore(Path(work) / PG_DUMP_NAME)
                committed = True
                with connection.cursor() as cursor:
                    cursor.execute("SELECT COUNT(*) FROM tasks")
                    tasks = cursor.fetchone()[0]
                    cursor.execute("SELECT file_path, sha256 FROM images")
                    image_hashes = dict(cursor.fetchall())
                images = len(image_hashes)
            for name, sha in image_hashes.items():
                f = expected.get(name)
                if f is not None and f["sha256"] != sha and name not in mismatched:
                    mismatched.append(name)
            if not postgres:
                # Move the database into place last: until then the target stays empty.
                for suffix in ("-wal", "-shm", "-journal"):
                    Path(str(db_path) + suffix).unlink(missing_ok=True)
                os.replace(Path(work) / DB_NAME, db_path)
                committed = True
    except BaseException:
        if uploads is not None:
            uploads.abandon()  # no upload may land after the removal below
        if not committed:
            _remove_added(added, media_root)
        raise
    return RestoreResult(tasks=tasks, images=images, files=restored_files, bytes=restored_bytes, mismatched=mismatched)


def _restore_to_disk(tar: tarfile.TarFile, member: tarfile.TarInfo, relative: PurePosixPath, media_root: Path,
                     added: list[str]) -> str:
    """One archived file into the media directory; its sha256."""
    target = media_root.joinpath(*relative.parts)
    existed = target.exists()
    digest = hashlib.sha256()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tar.extractfile(member) as src, open(target, "wb") as dst:
            if not existed:
                added.append(str(relative))
            for block in iter(lambda: src.read(1 << 20), b""):
                digest.update(block)
                dst.write(block)
    except OSError as err:
        raise BackupError(f"could not write {relative} into {media_root}: {err}") from err
    return digest.hexdigest()


class _Uploads:
    """Archived files into the app's storage (the bucket), BUCKET_REQUESTS_AT_ONCE at a time. Each is read
    from the archive (in its order: a .tar.gz reads only forward) into a staged file, so that no image is
    held in memory, and put by a worker thread; the first failure is raised by the next add() or finish()."""

    def __init__(self, work: Path, force: bool, added: list[str]):
        self.work, self.force, self.added = work, force, added
        self.pool = ThreadPoolExecutor(max_workers=BUCKET_REQUESTS_AT_ONCE, thread_name_prefix="restore-put")
        self.room = threading.BoundedSemaphore(BUCKET_REQUESTS_AT_ONCE)  # staged files on disk at a time
        self.failures: list[BaseException] = []  # in the order they happened
        self.lock = threading.Lock()
        self.serial = 0

    def add(self, tar: tarfile.TarFile, member: tarfile.TarInfo, relative: PurePosixPath) -> str:
        """Stage one file and start its upload; its sha256."""
        self._raise_first_failure()
        self.room.acquire()
        self.serial += 1
        staged = self.work / f"media-file-{self.serial}"
        digest = hashlib.sha256()
        try:
            with tar.extractfile(member) as src, open(staged, "wb") as dst:
                for block in iter(lambda: src.read(1 << 20), b""):
                    digest.update(block)
                    dst.write(block)
        except BaseException:
            staged.unlink(missing_ok=True)
            self.room.release()
            raise
        self.pool.submit(self._put, str(relative), staged).add_done_callback(self._done)
        return digest.hexdigest()

    def _put(self, name: str, staged: Path) -> None:
        try:
            # Without --force nothing was under the app's folders (checked): every file written is new.
            existed = self.force and default_storage.exists(name)
            with open(staged, "rb") as handle:
                storage.put(name, handle)
            if not existed:
                with self.lock:
                    self.added.append(name)
        except Exception as err:
            raise BackupError(f"could not write {name} into {storage.describe()}: {err}") from err
        finally:
            staged.unlink(missing_ok=True)
            self.room.release()

    def _done(self, future: Future) -> None:
        if not future.cancelled() and future.exception() is not None:
            with self.lock:
                self.failures.append(future.exception())

    def _raise_first_failure(self) -> None:
        with self.lock:
            first = self.failures[0] if self.failures else None
        if first is not None:
            raise first

    def finish(self) -> None:
        """Wait for every upload; raise the first failure."""
        self.pool.shutdown(wait=True)
        self._raise_first_failure()

    def abandon(self) -> None:
        """Stop: uploads not started are dropped, those in flight are waited for (then `added` is complete)."""
        self.pool.shutdown(wait=True, cancel_futures=True)


def _remove_added(added: list[str], media_root: Path | None) -> None:
    """Undo a failed restore's new files (the ones it replaced under --force cannot be brought back)."""
    if media_root is None:
        storage.delete_files(added)
        return
    for name in added:
        try:
            media_root.joinpath(*PurePosixPath(name).parts).unlink(missing_ok=True)
        except OSError:
            pass
