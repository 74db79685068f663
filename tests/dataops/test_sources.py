"""Reading data: every supported input, and clear errors for bad files."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
import sqlalchemy as sa

from triops.dataops.checks import check
from triops.dataops.contracts import parse_contract
from triops.dataops.sources import open_source
from triops.errors import InvalidInputError, NotFoundError

from .helpers import PEOPLE, good_people

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _rows(data: object, **kw: str) -> int:
    return check(parse_contract(PEOPLE), data, **kw).row_count  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl", "arrow"])
def test_file_formats_are_read(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"people.{suffix}"
    df = good_people()
    {"csv": df.write_csv, "parquet": df.write_parquet, "jsonl": df.write_ndjson, "arrow": df.write_ipc}[
        suffix
    ](path)
    report = check(parse_contract(PEOPLE), path)
    assert report.passed and report.row_count == 4
    assert open_source(path).uri.startswith("file://")


def test_frames_of_every_kind_are_read() -> None:
    df = good_people()
    for data in (df, df.lazy(), df.to_pandas(), df.to_arrow()):
        assert _rows(data) == 4
    assert isinstance(good_people().to_pandas(), pd.DataFrame)
    assert isinstance(good_people().to_arrow(), pa.Table)


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        open_source(tmp_path / "nope.csv")


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InvalidInputError, match="is empty"):
        _rows(path)


def test_header_only_file_has_zero_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("id,age,state,email\n")
    report = check(parse_contract(PEOPLE), path)
    assert report.row_count == 0
    assert not report.passed  # enough_rows


def test_row_with_extra_field_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("id,age,state,email\n1,30,NY,a@b\n2,31,NY,a@b,extra\n3,32,CA,c@d\n")
    with pytest.raises(InvalidInputError) as info:
        _rows(path)
    assert "line 3 has 5 fields, the header has 4" in str(info.value)
    assert info.value.detail["line"] == 3


def test_row_with_missing_field_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("id,age,state,email\n1,30,NY,a@b\n2,31,NY,a@b\n3,32,CA\n4,33,CA,d@e\n")
    with pytest.raises(InvalidInputError) as info:
        _rows(path)
    assert "line 4 has 3 fields" in str(info.value)


def test_empty_last_values_are_not_mistaken_for_ragged_rows(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text("id,age,state,email\n1,30,NY,\n2,31,NY,a@b\n3,32,CA,\n")
    assert _rows(path) == 3


def test_non_utf8_file_names_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("id,age,state,email\n1,30,NY,a@b\n2,31,NY,jos\u00e9@b\n".encode("cp1252"))
    with pytest.raises(InvalidInputError) as info:
        _rows(path)
    assert "not UTF-8" in str(info.value)
    assert "line 3" in str(info.value)
    assert "cp1252" in str(info.value)


def test_utf16_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes("id,age,state,email\n1,30,NY,a@b\n".encode("utf-16"))
    with pytest.raises(InvalidInputError, match=r"UTF-16|UTF-8"):
        _rows(path)


def test_unknown_suffix_and_directory_are_refused(tmp_path: Path) -> None:
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(InvalidInputError, match="suffix"):
        open_source(tmp_path / "x.xlsx")
    with pytest.raises(InvalidInputError, match="directory"):
        open_source(tmp_path)


def test_unsupported_object_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="cannot read data of type"):
        open_source(42)


def test_sqlite_table_and_query(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    engine = sa.create_engine(url)
    good_people().to_pandas().to_sql("people", engine, index=False)
    engine.dispose()
    assert _rows(url, table="people") == 4
    assert _rows(url, query="SELECT * FROM people") == 4
    with pytest.raises(NotFoundError, match="nope"):
        open_source(url, table="nope")
    with pytest.raises(InvalidInputError, match="exactly one"):
        open_source(url)


@pytest.fixture
def pg_table() -> Iterator[str]:
    schema = f"dataops_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    good_people().to_pandas().to_sql("people", engine, schema=schema, index=False)
    yield schema
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    engine.dispose()


def test_postgresql_table_and_query(pg_table: str) -> None:
    assert _rows(PG_URL, table=f"{pg_table}.people") == 4
    report = check(parse_contract(PEOPLE), PG_URL, query=f'SELECT * FROM "{pg_table}".people WHERE age > 10')
    assert report.row_count == 3
    assert open_source(PG_URL, table=f"{pg_table}.people").uri.startswith("postgresql+psycopg://postgres@")
    with pytest.raises(InvalidInputError, match="cannot read"):
        open_source(PG_URL, query="SELECT * FROM no_such_table_here")


def test_polars_lazyframe_is_not_collected_by_opening() -> None:
    lf = pl.LazyFrame({"a": [1]})
    assert open_source(lf).lazy() is lf
