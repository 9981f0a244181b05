"""The inbox, where the flow starts: which delivered files wait, their fingerprint, and where a file goes when
ingestion is done with it.

A file is identified by the SHA-256 of its bytes. Files are moved out of the inbox untouched: loaded (and
duplicate) files to `archive/<source>/`, refused ones to `rejected/<source>/` with a `<name>.reason.txt`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from wfm.config import Home
from wfm.contract import Source
from wfm.errors import WfmError

SOURCES: tuple[Source, ...] = ("survey", "enterprise")
SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm", ".parquet"}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


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


def new_files(home: Home) -> list[tuple[Source, Path]]:
    """Files waiting in the inbox, oldest name first, per source."""
    found: list[tuple[Source, Path]] = []
    for source in SOURCES:
        folder = home.inbox(source)
        if folder.is_dir():
            found += [
                (source, p)
                for p in sorted(folder.iterdir())
                if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
            ]
    return found


def unique_target(folder: Path, name: str, sha: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists() and sha256_file(target) != sha:
        target = folder / f"{Path(name).stem}.{sha[:12]}{Path(name).suffix}"
    return target


def move(path: Path, folder: Path, sha: str) -> Path:
    """Move a delivered file, untouched, out of the inbox (idempotent when it was moved already)."""
    target = unique_target(folder, path.name, sha)
    if path.exists():
        shutil.move(str(path), target)
    return target


def refuse_file(home: Home, path: Path, source: Source, sha: str, reason: str, message: str) -> None:
    target = move(path, home.rejected / source, sha)
    target.with_name(target.name + ".reason.txt").write_text(f"{reason}\n{message}\n", encoding="utf-8")
