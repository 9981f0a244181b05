"""The one exception type users see: a message naming the file, row, column and rule. Anything else is a bug."""

from __future__ import annotations

import unicodedata


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
                f"file {shown(file)}" if file else "",
                f"row {row}" if row is not None else "",
                f"column {shown(column)}" if column else "",
                f"rule {rule}" if rule else "",
            )
            if part
        )
        super().__init__(f"{message} ({where})" if where else message)


class FileRefused(WfmError):
    """A whole file breaks the contract (unreadable, wrong encoding, missing column, empty, truncated)."""


def shown(text: str, limit: int | None = None) -> str:
    """`text` safe to print and to use as a file name: control, format and unassigned characters (a newline,
    a terminal escape, a right-to-left override) escaped as Python writes them (`\\n`, `\\x1b`, `\\u202e`),
    and the bytes of a name that is not UTF-8 as `\\xNN`. Printable text, Chinese included, is unchanged, and
    shown text is shown as it is. With `limit`, at most that many characters of `text` are shown, then `…`."""
    out = []
    for ch in text if limit is None else text[:limit]:
        if unicodedata.category(ch)[0] != "C" and ch not in "\u2028\u2029":
            out.append(ch)
            continue
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode could not decode (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out) + ("…" if limit is not None and len(text) > limit else "")
