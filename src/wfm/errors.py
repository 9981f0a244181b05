"""The one exception type users see: a message naming the file, row, column and rule. Anything else is a bug."""

from __future__ import annotations


class WfmError(Exception):
    """An expected failure, reported as one line without a traceback."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        rule: str | None = None,
    ) -> None:
        self.file, self.row, self.column, self.rule = file, row, column, rule
        where = ", ".join(
            part
            for part in (
                f"file {file}" if file else "",
                f"row {row}" if row is not None else "",
                f"column {column}" if column else "",
                f"rule {rule}" if rule else "",
            )
            if part
        )
        super().__init__(f"{message} ({where})" if where else message)


class FileRefused(WfmError):
    """A whole file breaks the contract (unreadable, wrong encoding, missing column, empty, truncated)."""
