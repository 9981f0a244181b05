"""The inbox, where the flow starts: which entries wait, how a delivered file is taken, and where it goes when
ingestion is done with it.

Every entry of `inbox/<source>/` gets an outcome the operator sees:

- **waiting**, left in the inbox and reported every night: a hidden name (`.name`, as rsync and many transfer
  clients call a file they are still writing), or an entry changed within the quiet period, `WFM_SETTLE_SECONDS`
  (default 60). "Changed" is the entry's status-change time (ctime), which every write, truncation, rename into
  the inbox, chmod or `touch` moves and no sender can set back: a file whose size and modification time stayed
  the same for the quiet period is settled. A file named on the command line is taken at once: whoever names it
  knows it is complete.
- **taken**, every other entry (`take`): a regular file is copied into the private folder `intake/<source>/` of
  the home under a neutral name, `<sha256><ext>`, hashed as it is copied. That copy is what is read, logged,
  and then filed away, so what archive/ or rejected/ holds is exactly the bytes that were hashed and loaded,
  whatever the sender does to the delivered file meanwhile. If the file changed while it was copied, it is
  waiting again. The delivered file leaves the inbox once its copy is filed away, and only if it has not
  changed since it was taken (otherwise it stays, and is judged again as a new delivery once settled).
- an entry that is not a regular file (a symbolic link, a folder, a FIFO) is never opened or followed: it is
  refused (`not_a_regular_file`) and moved to rejected/ as it is.

Filed away: loaded and duplicate files to `archive/<source>/`, refused ones to `rejected/<source>/` with a
`<name>.reason.txt`, under the delivered name with control characters escaped (`shown`) and shortened, with a
prefix of the SHA-256, where the reason file's name would not fit the file system (`filed_name`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import secrets
import shutil
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wfm.config import Home
from wfm.contract import Source
from wfm.errors import WfmError, shown

SOURCES: tuple[Source, ...] = ("survey", "enterprise")
SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm", ".parquet"}
#: seconds an entry must stay unchanged before it is taken, unless `WFM_SETTLE_SECONDS` says otherwise
SETTLE_SECONDS = 60.0
CHUNK = 1 << 22
REASON_SUFFIX = ".reason.txt"
#: the longest file name, in bytes, of the file systems the home lives on (ext4, xfs, btrfs, tmpfs, overlayfs)
NAME_MAX = 255


def settle_seconds() -> float:
    """The quiet period, from `WFM_SETTLE_SECONDS` (seconds, 0 or more; 0 takes every entry at once)."""
    text = os.environ.get("WFM_SETTLE_SECONDS", "").strip()
    if not text:
        return SETTLE_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise WfmError(f"WFM_SETTLE_SECONDS must be a number of seconds, 0 or more, not {text!r}", rule="usage")
    return value


def filed_name(name: str, tag: str, tagged: bool = False) -> str:
    """The name a delivered entry is filed under: `shown(name)`, or, when its reason file's name would not fit
    NAME_MAX bytes (or `tagged`), its stem cut short and `.<tag>` (a prefix of the SHA-256) before the suffix."""
    name = shown(name)
    room = NAME_MAX - len(REASON_SUFFIX)
    if not tagged and len(name.encode()) <= room:
        return name
    suffix = Path(name).suffix
    if len(suffix.encode()) > 16 or suffix == name:
        suffix = ""
    end = f".{tag}{suffix}"
    budget = room - len(end.encode())
    stem, used = [], 0
    for ch in name[: len(name) - len(suffix)]:
        used += len(ch.encode())
        if used > budget:
            break
        stem.append(ch)
    return "".join(stem) + end


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def os_text(exc: OSError) -> str:
    """An OS error in a few words, without the path (which may be too long, or unsafe to print)."""
    return exc.strerror or type(exc).__name__


def delivered_ext(name: str) -> str:
    """The suffix the private copy keeps, which tells the reader the format: a supported one, else none."""
    suffix = Path(name).suffix.lower()
    return suffix if suffix in SUFFIXES else ""


# --- which entries wait -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """An inbox entry not taken tonight: `outcome` is waiting or skipped."""

    source: Source
    name: str
    outcome: str
    reason: str


def scan(home: Home, quiet: float | None = None) -> tuple[list[tuple[Source, Path]], list[Notice]]:
    """The inbox's entries in name order per source: those to take tonight, and those that wait (or vanished
    while listed), each with its reason. Nothing is opened or moved."""
    quiet = settle_seconds() if quiet is None else quiet
    now = time.time()
    ready: list[tuple[Source, Path]] = []
    notices: list[Notice] = []
    for source in SOURCES:
        folder = home.inbox(source)
        try:
            names = sorted(os.listdir(folder))
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise WfmError(f"the inbox cannot be listed ({os_text(exc)})", file=str(folder), rule="inbox") from None
        for name in names:
            if name.startswith("."):
                notices.append(
                    Notice(
                        source,
                        name,
                        "waiting",
                        "a hidden name, as a transfer under way writes it; taken once renamed without the leading dot",
                    )  # fmt: skip
                )
                continue
            try:
                status = os.lstat(folder / name)
            except FileNotFoundError:
                notices.append(Notice(source, name, "skipped", "vanished: it left the inbox while it was listed"))
                continue
            except OSError as exc:
                notices.append(Notice(source, name, "skipped", f"os_error: {os_text(exc)}; left in the inbox"))
                continue
            age = now - status.st_ctime
            if age < quiet:
                notices.append(
                    Notice(
                        source,
                        name,
                        "waiting",
                        f"changed {max(age, 0):.0f} s ago, not settled yet (it must "
                        f"stay unchanged {quiet:.0f} s, WFM_SETTLE_SECONDS); taken once it has",
                    )  # fmt: skip
                )
                continue
            ready.append((source, folder / name))
    return ready, notices


# --- taking a file ------------------------------------------------------------------------------------------------


class NotTaken(Exception):
    """An entry that cannot be taken now: `outcome` waiting, skipped, or rejected (not a regular file)."""

    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.outcome, self.reason = outcome, reason


@dataclass(frozen=True)
class Taken:
    """A delivered file and its private copy (`path`), which is what is read, logged and filed away."""

    source: Source
    delivered: Path
    path: Path
    sha256: str

    @property
    def name(self) -> str:
        """The delivered name, escaped: what the operator, the log and the file's new home see."""
        return shown(self.delivered.name)

    @property
    def ext(self) -> str:
        return delivered_ext(self.delivered.name)

    @classmethod
    def again(cls, home: Home, source: Source, delivered: Path, sha: str) -> Taken:
        """The private copy `take` made of `delivered` (in another process: the DAG's prepare task)."""
        return cls(source, delivered, intake_folder(home, source) / f"{sha}{delivered_ext(delivered.name)}", sha)


def intake_folder(home: Home, source: Source) -> Path:
    folder = home.root / "intake" / source
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def clear_intake(home: Home) -> None:
    """Remove private copies a killed run left behind (a night starts with none: each is taken again from the
    inbox, where its delivered file stays until the copy is filed away)."""
    for source in SOURCES:
        folder = home.root / "intake" / source
        for entry in os.listdir(folder) if folder.is_dir() else []:
            with contextlib.suppress(FileNotFoundError):
                (folder / entry).unlink()


def _no_follow(path: str, flags: int) -> int:
    # O_NONBLOCK: a FIFO swapped in after the check would otherwise block the open until a writer comes
    return os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)


def _private(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_CLOEXEC, 0o600)


def kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def take(home: Home, source: Source, path: Path) -> Taken:
    """Copy the delivered file `path` into the private intake folder, hashing it as it is copied; raise
    NotTaken when it is not a regular file (never opened, never followed), vanished, cannot be read (an OS
    error: skipped, left where it is) or changed while it was copied (waiting). An error writing the copy is
    the home's, not the file's: it stops the run (WfmError)."""
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        raise NotTaken("skipped", "vanished: the file left the inbox before it was read") from None
    except OSError as exc:
        raise NotTaken("skipped", f"os_error: {os_text(exc)}; left where it is") from None
    if not stat.S_ISREG(before.st_mode):
        raise NotTaken("rejected", f"not_a_regular_file: {kind(before.st_mode)}, which the intake never follows")
    folder = intake_folder(home, source)
    partial = folder / f".taking-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    try:
        src = open(path, "rb", buffering=0, opener=_no_follow)  # noqa: SIM115 (errors told apart, then `with`)
    except FileNotFoundError:
        raise NotTaken("skipped", "vanished: the file left the inbox before it was read") from None
    except OSError as exc:
        raise NotTaken("skipped", f"os_error: {os_text(exc)}; left where it is") from None
    try:
        with src:
            opened = os.fstat(src.fileno())
            if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
                raise NotTaken("waiting", "replaced while it was taken; taken once it has settled")
            copied = _copy(src, partial, digest)
            after = os.fstat(src.fileno())
        if (after.st_size, after.st_mtime_ns) != (opened.st_size, opened.st_mtime_ns) or copied != opened.st_size:
            raise NotTaken("waiting", "it changed while it was copied; taken once it has settled")
        # the copy keeps the delivered file's time: `file_away` compares them to see whether it changed since
        os.utime(partial, ns=(opened.st_atime_ns, opened.st_mtime_ns))
        sha = digest.hexdigest()
        private = folder / f"{sha}{delivered_ext(path.name)}"
        os.replace(partial, private)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    return Taken(source, path, private, sha)


def _copy(src: io.RawIOBase, target: Path, digest: hashlib._Hash) -> int:
    """Bytes of `src` into the new file `target` and `digest`, then to disk; the number of bytes copied."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    copied = 0
    try:
        dst = open(target, "xb", buffering=0, opener=_private)  # noqa: SIM115 (as src)
    except OSError as exc:
        raise WfmError(f"cannot write a private copy ({os_text(exc)})", file=str(target.parent), rule="home") from None
    with dst:
        while True:
            try:
                n = src.readinto(buffer)
            except OSError as exc:
                raise NotTaken("skipped", f"os_error: {os_text(exc)} while reading; left where it is") from None
            if not n:
                break
            digest.update(view[:n])
            try:
                dst.write(view[:n])
            except OSError as exc:
                raise WfmError(f"cannot write a private copy ({os_text(exc)})", rule="home") from None
            copied += n
        try:
            os.fsync(dst.fileno())  # on disk before the delivered file may leave the inbox
        except OSError as exc:
            raise WfmError(f"cannot write a private copy ({os_text(exc)})", rule="home") from None
    return copied


@contextlib.contextmanager
def literal_path(path: Path) -> Iterator[str]:
    """A name by which DuckDB reads exactly this file. DuckDB's readers take their path as a pattern (`*`,
    `?`, `[…]`, `**` expand, in the folders' part too): the file is opened here and DuckDB given
    `/proc/self/fd/N`, a name without a pattern character that stands for the open file alone."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if os.path.isdir("/proc/self/fd"):
            yield f"/proc/self/fd/{fd}"
        elif any(ch in str(path) for ch in "*?[{"):  # no /proc (macOS): a path that is a pattern is not read
            raise WfmError("a path with a pattern character (* ? [ {) cannot be read here", rule="usage")
        else:
            yield str(path)
    finally:
        os.close(fd)


# --- where a file goes --------------------------------------------------------------------------------------------


def copy_in(home: Home, source: Source, path: Path) -> Path:
    """A file named on the command line, as a delivery: a file already in an inbox folder is itself; any
    other is copied into the source's inbox (the operator's file stays where it is), under its own name or,
    when the inbox holds that name, the name with `.2`, `.3` … before the suffix."""
    with contextlib.suppress(OSError):
        if any(os.path.samefile(path.parent, home.inbox(s)) for s in SOURCES if home.inbox(s).is_dir()):
            return path
    folder = home.inbox(source)
    folder.mkdir(parents=True, exist_ok=True)
    partial = intake_folder(home, source) / f".copying-{uuid.uuid4().hex}"
    try:
        shutil.copy2(path, partial)  # the mtime kept: an old file is settled at once
        for n in range(1, 1000):
            target = folder / (path.name if n == 1 else filed_name(path.name, str(n), tagged=True))
            try:
                os.link(partial, target)  # never replaces a file of the inbox
            except FileExistsError:
                continue
            return target
        raise WfmError("the inbox holds too many files of that name", file=shown(path.name), rule="usage")
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _unique_target(folder: Path, name: str, sha: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / filed_name(name, sha[:12])
    if os.path.lexists(target) and not (target.is_file() and not target.is_symlink() and sha256_file(target) == sha):
        target = folder / filed_name(name, sha[:12], tagged=True)
    return target


def _write_reason(target: Path, code: str, message: str) -> None:
    """`<target>.reason.txt`: the code on the first line, the message on the second; written aside, then renamed."""
    reason = target.with_name(target.name + REASON_SUFFIX)
    partial = target.with_name(f".{secrets.token_hex(6)}{REASON_SUFFIX}")
    try:
        partial.write_text(f"{code}\n{shown(message)}\n", encoding="utf-8")
        os.replace(partial, reason)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def file_away(home: Home, taken: Taken, refused: tuple[str, str] | None = None) -> list[str]:
    """After the commit: the private copy to archive/<source>/, or, `refused` (code, message), to
    rejected/<source>/ with its reason file; then the delivered file leaves the inbox, if it has not changed
    since it was taken. An OS error here loses nothing (the outcome is committed, the delivered file stays in
    the inbox, a duplicate next night): it is returned as a warning."""
    folder = (home.rejected if refused else home.archive) / taken.source
    try:
        if not taken.path.exists():  # taken by a process that is gone (the DAG's stage step): take it again
            again = take(home, taken.source, taken.delivered)
            if again.sha256 != taken.sha256:
                again.path.unlink()
                return ["the delivered file changed since it was taken: left in the inbox"]
        copy = os.stat(taken.path)
        target = _unique_target(folder, taken.name, taken.sha256)
        try:
            os.replace(taken.path, target)
        except OSError:  # archive/ on another file system
            shutil.move(taken.path, target)
        if refused:
            _write_reason(target, *refused)
    except (OSError, NotTaken) as exc:
        return [f"not filed away ({os_text(exc) if isinstance(exc, OSError) else exc}); the file stays in the inbox"]
    try:
        now = os.lstat(taken.delivered)
    except FileNotFoundError:
        return []
    except OSError as exc:
        return [f"the delivered file cannot be removed ({os_text(exc)})"]
    if stat.S_ISREG(now.st_mode) and (now.st_size, now.st_mtime_ns) == (copy.st_size, copy.st_mtime_ns):
        try:
            taken.delivered.unlink()
        except OSError as exc:
            return [f"the delivered file cannot be removed ({os_text(exc)})"]
        return []
    return ["the delivered file changed after it was taken: left in the inbox, to be judged again once settled"]


def set_aside(home: Home, source: Source, path: Path, code: str, message: str) -> list[str]:
    """An entry that is not a regular file, moved as it is (a link stays a link, never followed) to
    rejected/<source>/ with its reason file; warnings when that fails (it then stays in the inbox)."""
    folder = home.rejected / source
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / filed_name(path.name, secrets.token_hex(6))
        if os.path.lexists(target):
            target = folder / filed_name(path.name, secrets.token_hex(6), tagged=True)
        os.rename(path, target)
        _write_reason(target, code, message)
    except OSError as exc:
        return [f"not moved to rejected/ ({os_text(exc)}); it stays in the inbox"]
    return []
