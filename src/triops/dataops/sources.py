"""Where data comes from: files (CSV, Parquet, JSON Lines, Arrow IPC), in-memory frames (polars, pandas,
pyarrow) and tables or queries behind an SQLAlchemy URL, all opened as one polars ``LazyFrame``.

Files are scanned lazily so a check streams them. Polars' own errors are turned into clear ones: a missing
or empty file, a ragged row (with its line number) and a non-UTF-8 file (with the encoding it most likely
is). The slow diagnosis (finding the line) runs only after polars has reported a problem.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from triops.errors import InvalidInputError, NotFoundError

_SUFFIX_KIND = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".arrow": "arrow",
    ".ipc": "arrow",
    ".feather": "arrow",
}
_SQL_SCHEMES = ("postgresql", "postgres", "sqlite", "mysql", "mssql", "oracle", "duckdb")


@dataclass
class Source:
    """Opened data: a lazy frame plus what lineage and diagnosis need to know about its origin."""

    name: str
    uri: str
    kind: str
    path: Path | None = None
    separator: str = ","
    _open: Callable[[Mapping[str, Any]], pl.LazyFrame] | None = None
    _frame: pl.LazyFrame | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def lazy(self) -> pl.LazyFrame:
        if self._open is not None:
            try:
                return self._open(self.overrides)
            except (pl.exceptions.PolarsError, OSError) as exc:
                raise self.translate(exc) from exc
        assert self._frame is not None
        return self._frame

    def with_text_columns(self, cols: list[str]) -> Source:
        """The same file read with ``cols`` as text, so values that do not parse become validity failures."""
        return Source(
            self.name,
            self.uri,
            self.kind,
            self.path,
            self.separator,
            self._open,
            self._frame,
            {**self.overrides, **dict.fromkeys(cols, pl.String)},
        )

    @property
    def size_bytes(self) -> int | None:
        return self.path.stat().st_size if self.path is not None else None

    def collect(self, queries: list[pl.LazyFrame], *, streaming: bool = True) -> list[pl.DataFrame]:
        """Run queries over this source together, translating polars' errors about the data."""
        try:
            return pl.collect_all(queries, engine="streaming" if streaming else "auto")
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise self.translate(exc) from exc

    def translate(self, exc: Exception) -> Exception:
        text = str(exc)
        where = str(self.path) if self.path is not None else self.name
        if self.kind == "csv" and self.path is not None:
            if "utf-8" in text.lower() or "utf8" in text.lower():
                return non_utf8_error(self.path)
            if "more fields" in text or "ragged" in text:
                return ragged_error(self.path, self.separator) or InvalidInputError(f"{where}: {text}")
            if isinstance(exc, pl.exceptions.NoDataError):
                return empty_error(self.path)
        if isinstance(exc, FileNotFoundError):
            return NotFoundError(f"data file {where} does not exist", hint="check the path")
        if "could not parse" in text or isinstance(
            exc, pl.exceptions.SchemaError | pl.exceptions.ComputeError
        ):
            return InvalidInputError(
                f"{where}: cannot read data: {text.splitlines()[0]}",
                hint=_read_hint(self),
                detail={"parse": "could not parse" in text or "parse" in text.lower()},
            )
        return exc

    def find_short_row(self, expected: int) -> InvalidInputError | None:
        """A CSV row with fewer fields than the header (polars fills those with nulls silently).

        A streaming pass counts separators outside quotes on every line; only if one line looks short does
        the exact ``csv`` reader confirm it (a quoted value spanning lines can fool the count)."""
        if self.kind != "csv" or self.path is None:
            return None
        sep = re.escape(self.separator)
        fields = pl.col("line").str.replace_all(r'"[^"]*"', "").str.count_matches(sep) + 1
        suspect = (
            pl.scan_lines(self.path, row_index_name="__line__", row_index_offset=1)
            .filter((fields != expected) & (pl.col("line").str.strip_chars().str.len_bytes() > 0))
            .head(1)
            .collect(engine="streaming")
        )
        return ragged_error(self.path, self.separator) if suspect.height else None


def line_numbers(source: Source, indices: list[int], rows: int) -> dict[int, int] | None:
    """The file line of each 0-based record index (CSV: the header is line 1), or None for data that is not
    a text file. Counting newlines gives the answer when no quoted value spans lines; otherwise the records
    are read with the ``csv`` module up to the last index asked for."""
    if source.path is None or source.kind not in ("csv", "jsonl") or not indices:
        return None
    header = 1 if source.kind == "csv" else 0
    newlines, last = 0, b"\n"
    with source.path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            newlines += block.count(b"\n")
            last = block[-1:]
    lines = newlines + (0 if last == b"\n" else 1)
    if lines - header == rows:
        return {i: i + 1 + header for i in indices}
    wanted, out = set(indices), {}
    with source.path.open(newline="", encoding="utf-8", errors="replace") as text:
        if source.kind == "jsonl":
            record = 0
            for number, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                if record in wanted:
                    out[record] = number
                record += 1
                if len(out) == len(wanted):
                    break
            return out
        reader = csv.reader(text, delimiter=source.separator)
        next(reader, None)
        start = reader.line_num + 1
        for record, _ in enumerate(reader):
            if record in wanted:
                out[record] = start
                if len(out) == len(wanted):
                    break
            start = reader.line_num + 1
    return out


def _read_hint(source: Source) -> str:
    return f"check that {source.name} is valid {source.kind}"


def open_source(
    data: Any,
    *,
    name: str | None = None,
    table: str | None = None,
    query: str | None = None,
    separator: str | None = None,
) -> Source:
    """Open ``data`` (a path, a frame, or an SQLAlchemy URL with ``table`` or ``query``) as a Source."""
    if isinstance(data, Source):
        return data
    if isinstance(data, pl.LazyFrame):
        return Source(name or "frame", f"memory://{name or 'frame'}", "frame", _frame=data)
    if isinstance(data, pl.DataFrame):
        return Source(name or "frame", f"memory://{name or 'frame'}", "frame", _frame=data.lazy())
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return Source(
            name or "frame", f"memory://{name or 'frame'}", "frame", _frame=pl.from_pandas(data).lazy()
        )
    if module == "pyarrow":
        frame = pl.from_arrow(data)
        if not isinstance(frame, pl.DataFrame):
            raise InvalidInputError("a pyarrow array is not a table", hint="pass a pyarrow.Table")
        return Source(name or "frame", f"memory://{name or 'frame'}", "frame", _frame=frame.lazy())
    if isinstance(data, str) and data.split(":", 1)[0].split("+")[0] in _SQL_SCHEMES and "://" in data:
        return _sql_source(data, table=table, query=query, name=name)
    if isinstance(data, str | os.PathLike):
        return _file_source(Path(data), name=name, separator=separator)
    raise InvalidInputError(
        f"cannot read data of type {type(data).__name__}",
        hint="pass a file path (.csv .parquet .jsonl .arrow), a polars/pandas/pyarrow frame, "
        "or an SQLAlchemy URL with table= or query=",
    )


def _file_source(path: Path, *, name: str | None, separator: str | None) -> Source:
    if not path.exists():
        raise NotFoundError(
            f"data file {path} does not exist", hint="check the path and the working directory"
        )
    if path.is_dir():
        raise InvalidInputError(f"{path} is a directory, not a data file", hint="pass one file")
    kind = _SUFFIX_KIND.get(path.suffix.lower())
    if kind is None:
        raise InvalidInputError(
            f"cannot tell the format of {path} from its suffix {path.suffix!r}",
            hint=f"use one of: {', '.join(sorted(_SUFFIX_KIND))}",
        )
    if path.stat().st_size == 0:
        raise empty_error(path)
    if kind in ("csv", "jsonl"):
        with path.open("rb") as handle:
            if handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                raise InvalidInputError(
                    f"{path} is UTF-16, not UTF-8",
                    hint=f"convert it first: `iconv -f utf-16 -t utf-8 {path.name} > fixed{path.suffix}`",
                    detail={"encoding": "utf-16"},
                )
    sep = separator or ("\t" if path.suffix.lower() == ".tsv" else ",")
    label = name or path.stem
    uri = path.resolve().as_uri()

    def opener(overrides: Mapping[str, Any]) -> pl.LazyFrame:
        if kind == "csv":
            return pl.scan_csv(
                path, separator=sep, infer_schema_length=10_000, schema_overrides=dict(overrides) or None
            )
        if kind == "parquet":
            return pl.scan_parquet(path)
        if kind == "jsonl":
            return pl.scan_ndjson(path, infer_schema_length=10_000, schema_overrides=dict(overrides) or None)
        return pl.scan_ipc(path)

    return Source(label, uri, kind, path, sep, _open=opener)


def _sql_source(url: str, *, table: str | None, query: str | None, name: str | None) -> Source:
    import sqlalchemy as sa

    if (table is None) == (query is None):
        raise InvalidInputError(
            f"reading {url.split('@')[-1]} needs exactly one of table= or query=",
            hint="for example: --table benefits",
        )
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise InvalidInputError(f"bad database URL: {exc}", hint="use an SQLAlchemy URL") from exc
    try:
        with engine.connect() as conn:
            if table is not None:
                schema, _, bare = table.rpartition(".")
                reflected = sa.Table(bare, sa.MetaData(), schema=schema or None, autoload_with=conn)
                stmt: Any = sa.select(reflected)
            else:
                stmt = sa.text(str(query))
            frame = pl.read_database(stmt, connection=conn)
    except sa.exc.NoSuchTableError as exc:
        raise NotFoundError(
            f"table {table!r} does not exist at {engine.url.render_as_string()}",
            hint="check the table name and schema",
        ) from exc
    except sa.exc.SQLAlchemyError as exc:
        raise InvalidInputError(
            f"cannot read from {engine.url.render_as_string()}: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}",
            hint="check the query and the connection",
        ) from exc
    finally:
        engine.dispose()
    label = name or table or "query"
    safe_url = engine.url.set(password=None).render_as_string()
    return Source(label, f"{safe_url}/{table or 'query'}", "sql", _frame=frame.lazy())


# -- diagnosis (runs only after polars reported a problem) ---------------------------------------------------


def empty_error(path: Path) -> InvalidInputError:
    return InvalidInputError(f"data file {path} is empty", hint="a CSV needs at least a header line")


def ragged_error(path: Path, separator: str) -> InvalidInputError | None:
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=separator)
        header = next(reader, None)
        if header is None:
            return empty_error(path)
        expected = len(header)
        for row in reader:
            if row and len(row) != expected:
                return InvalidInputError(
                    f"{path}: line {reader.line_num} has {len(row)} fields, the header has {expected}",
                    hint="fix that row: a missing or extra separator, or a separator in an unquoted value",
                    detail={"line": reader.line_num, "fields": len(row), "expected": expected},
                )
    return None


_GUESSES = ("cp1252", "latin-1", "utf-16")


def non_utf8_error(path: Path) -> InvalidInputError:
    """Find the first byte that is not UTF-8 (reading in blocks, so a large file is not loaded whole)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0
    head = b""
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            if offset == 0 and block.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                return InvalidInputError(f"{path} is UTF-16, not UTF-8", hint="re-save it as UTF-8")
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                bad = max(exc.start - len(exc.object) + len(block), 0)
                lines += block.count(b"\n", 0, bad)
                head = block[max(bad - 4096, 0) : bad + 4096]
                offset += bad
                encoding = next(e for e in _GUESSES if _decodes(head, e))
                return InvalidInputError(
                    f"{path} is not UTF-8: byte 0x{block[bad]:02x} at line {lines + 1} (offset {offset}); "
                    f"it looks like {encoding}",
                    hint=f"convert it first, e.g. `iconv -f {encoding} -t utf-8 {path.name} > fixed.csv`",
                    detail={"line": lines + 1, "offset": offset, "encoding": encoding},
                )
            lines += block.count(b"\n")
            offset += len(block)
    return InvalidInputError(f"{path} could not be decoded as UTF-8", hint="re-save it as UTF-8")


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True
