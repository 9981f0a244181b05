"""The inbox, where the flow starts: which delivered files wait, their fingerprint, and where a file goes when
ingestion is done with it.

A file is identified by the SHA-256 of its bytes. Files are moved out of the inbox untouched: loaded (and
duplicate) files to `archive/<source>/`, refused ones to `rejected/<source>/` with a `<name>.reason.txt`.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from wfm.config import Home
from wfm.contract import Source

SOURCES: tuple[Source, ...] = ("survey", "enterprise")
SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm", ".parquet"}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


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
