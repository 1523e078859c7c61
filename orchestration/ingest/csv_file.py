"""CSV extracts: their line endings, their header, and where a file that cannot be parsed breaks.

The engines read the rows; this module only looks at a file when they cannot, to say where it
breaks in words a person can act on: the file, the line and the column (the field's position,
and its header name), never the row's values, which may be personal data (SPEC §3: "a clear
message naming the file and the column").

Line endings: LF and CRLF are read as they are; a file whose first MiB has carriage returns and
no line feed (Excel's "CSV (Macintosh)") is read with CR as the line ending.
"""

from __future__ import annotations

import csv
from pathlib import Path

_PROBE = 1 << 20


def newline_of(path: Path) -> str:
    """'\\r' for a CR-only file, else '\\n' (which also reads CRLF)."""
    with path.open("rb") as fh:
        head = fh.read(_PROBE)
    return "\r" if b"\r" in head and b"\n" not in head else "\n"


def read_header(path: Path, newline: str) -> list[str]:
    """The header row's names; ValueError names the line and column of what is wrong."""
    with path.open("rb") as fh:
        head = fh.read(_PROBE)
    first = head.split(newline.encode(), 1)[0].removesuffix(b"\r")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        column = first[: exc.start].count(b",") + 1
        raise ValueError(
            f"line 1, column {column}: the header row is not UTF-8 ({exc.reason}); save the "
            "file as UTF-8"
        ) from exc
    return next(csv.reader([text]), [])


def _unquoted(field: str) -> str:
    if len(field) >= 2 and field.startswith('"') and field.endswith('"'):
        return field[1:-1].replace('""', '"')
    return field


def _field_name(header: list[str], column: int) -> str:
    if 1 <= column <= len(header) and header[column - 1].strip():
        return f" ({header[column - 1].strip()})"
    return ""


def diagnose(path: Path, newline: str) -> str | None:
    """Where `path` breaks the CSV format that the loaders read (RFC 4180, UTF-8, every row as
    wide as the header), as 'line L, column C (name): what'; None when no fault is found."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
        bad_at = None
    except UnicodeDecodeError as exc:
        text = data[: exc.start].decode("utf-8")
        bad_at = exc.reason
    found = _scan(text, newline, complete=bad_at is None)
    if found is not None:
        return found
    if bad_at is not None:
        line, column, header = _position(text, newline)
        return (
            f"line {line}, column {column}{_field_name(header, column)}: the text is not UTF-8 "
            f"({bad_at}); save the file as UTF-8"
        )
    return None


def _position(text: str, newline: str) -> tuple[int, int, list[str]]:
    """Line and column at the end of `text` (a valid prefix), and the header."""
    header: list[str] = []
    result: list[tuple[int, int, list[str]]] = []

    def at_end(line: int, column: int, hdr: list[str]) -> None:
        result.append((line, column, hdr))

    _scan(text, newline, complete=False, at_end=at_end)
    return result[0] if result else (1, 1, header)


def _scan(text: str, newline: str, complete: bool, at_end=None) -> str | None:
    """Walk the CSV text; the first fault as 'line L, column C (name): what', or None.
    `complete`: the text is the whole file (else a prefix: no end-of-file checks)."""
    line = record_line = 1
    column = 1
    state = "start"  # start of a field, "unquoted", "quoted", "closed" (after a closing quote)
    quote_at = (1, 1)
    header: list[str] | None = None
    field_start = 0
    fields: list[str] = []
    i, n = 0, len(text)

    def width_fault(count: int) -> str | None:
        if header is None or count == len(header):
            return None
        if count > len(header):
            where = len(header) + 1
            return (
                f"line {record_line}, column {where}: the row has {count} fields, the header "
                f"{len(header)}; quote a field that contains a comma"
            )
        return (
            f"line {record_line}, column {count + 1}{_field_name(header, count + 1)}: the row "
            f"has {count} fields, the header {len(header)}"
        )

    while i < n:
        c = text[i]
        if state == "quoted":
            if c == '"':
                if text.startswith('"', i + 1):
                    i += 2
                    continue
                state = "closed"
            elif c == "\n" or (c == "\r" and not text.startswith("\n", i + 1)):
                line += 1
            i += 1
            continue
        ends = 0
        if newline == "\r":
            ends = 1 if c == "\r" else 0
        elif c == "\n":
            ends = 1
        elif c == "\r" and text.startswith("\n", i + 1):
            ends = 2
        if ends:
            blank = state == "start" and column == 1
            if not blank:
                fields.append(text[field_start:i])
                if header is None:
                    header = [_unquoted(f) for f in fields]
                elif fault := width_fault(column):
                    return fault
            line += 1
            record_line, column, state, fields = line, 1, "start", []
            i += ends
            field_start = i
            continue
        if c == ",":
            fields.append(text[field_start:i])
            column += 1
            state = "start"
            i += 1
            field_start = i
            continue
        if state == "closed":
            return (
                f"line {line}, column {column}{_field_name(header or [], column)}: text follows "
                "the closing quote of a quoted field; double a quote inside a quoted field"
            )
        if c == '"':
            if state != "start":
                return (
                    f"line {line}, column {column}{_field_name(header or [], column)}: a quote "
                    "inside a field that does not start with one; quote the whole field and "
                    "double the quotes inside it"
                )
            state, quote_at = "quoted", (line, column)
        elif c in "\r\n":
            return (
                f"line {line}, column {column}{_field_name(header or [], column)}: a line break "
                "inside a field that is not quoted (mixed line endings?); save the file with "
                "one kind of line ending"
            )
        else:
            state = "unquoted"
        i += 1
    if at_end is not None:
        at_end(line, column, header or [])
    if not complete:
        return None
    if state == "quoted":
        qline, qcolumn = quote_at
        return (
            f"line {qline}, column {qcolumn}{_field_name(header or [], qcolumn)}: a quoted field "
            "is not closed before the end of the file"
        )
    if not (state == "start" and column == 1) and header is not None:
        return width_fault(column)
    return None
