"""Materializers: known types round-trip without pickle, hashes are stable, unknown types explain themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from triops.artifacts import ArtifactStore
from triops.errors import MaterializerError
from triops.mlops.pipelines import materializers as m


@pytest.fixture
def arts(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "a")


def test_polars_frames_are_parquet(arts: ArtifactStore) -> None:
    frame = pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})
    ref = m.materialize(frame, arts)
    assert ref.materializer == "polars" and ref.media_type == "application/vnd.apache.parquet"
    assert arts.get_bytes(ref.sha256)[:4] == b"PAR1"
    assert m.load(ref, arts).equals(frame)


def test_pandas_frames_are_parquet(arts: ArtifactStore) -> None:
    frame = pd.DataFrame({"a": [1.5, 2.5], "b": ["x", "y"]})
    ref = m.materialize(frame, arts)
    assert ref.materializer == "pandas"
    pd.testing.assert_frame_equal(m.load(ref, arts), frame)


def test_numpy_arrays_are_npy_without_pickle(arts: ArtifactStore) -> None:
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    ref = m.materialize(array, arts)
    assert ref.materializer == "numpy" and arts.get_bytes(ref.sha256)[:6] == b"\x93NUMPY"
    np.testing.assert_array_equal(m.load(ref, arts), array)


def test_object_arrays_are_refused_rather_than_pickled(arts: ArtifactStore) -> None:
    with pytest.raises(MaterializerError, match="without pickle"):
        m.materialize(np.array([object(), 1], dtype=object), arts)


def test_sklearn_estimators_are_skops_and_equal_models_hash_equal(arts: ArtifactStore) -> None:
    x = np.random.default_rng(0).normal(size=(60, 2))
    y = (x[:, 0] > 0).astype(int)
    first = m.materialize(LogisticRegression().fit(x, y), arts)
    second = m.materialize(LogisticRegression().fit(x, y), arts)
    assert first.materializer == "sklearn" and first.sha256 == second.sha256
    model = m.load(first, arts)
    assert (model.predict(x) == y).mean() > 0.9


def test_json_values_are_canonical(arts: ArtifactStore) -> None:
    a = m.materialize({"b": 1, "a": [1.5, "x", None]}, arts)
    b = m.materialize({"a": [1.5, "x", None], "b": 1}, arts)
    assert a.sha256 == b.sha256 and a.materializer == "json"
    assert json.loads(arts.get_bytes(a.sha256)) == {"a": [1.5, "x", None], "b": 1}


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
        max_leaves=10,
    )
)
def test_json_round_trips_any_json_value(value: Any) -> None:
    data, mat = m.to_bytes(value)
    assert mat.name == "json"
    assert json.loads(data) == value


class Opaque:
    def __init__(self, text: str) -> None:
        self.text = text


def test_an_unknown_type_explains_how_to_register_a_materializer(arts: ArtifactStore) -> None:
    with pytest.raises(MaterializerError) as info:
        m.materialize(Opaque("x"), arts, step="train")
    message = str(info.value)
    assert "'train'" in message and "Opaque" in message and "register_materializer" in message


def test_a_registered_materializer_is_used(arts: ArtifactStore) -> None:
    class Note(Opaque):
        pass

    def save(obj: Note, fh: IO[bytes]) -> None:
        fh.write(obj.text.encode())

    def load(fh: IO[bytes]) -> Note:
        return Note(fh.read().decode())

    m.register_materializer(Note, save, load, "text/plain", name="test-note")
    ref = m.materialize(Note("hello"), arts)
    assert ref.materializer == "test-note" and ref.media_type == "text/plain"
    assert m.load(ref, arts).text == "hello"


def test_the_materializer_of_a_media_type_is_found_by_it() -> None:
    found = m.materializer_for_media_type("application/vnd.apache.parquet")
    assert found is not None and found.name == "polars"
    assert m.materializer_for_media_type("application/x-nobody-writes-this") is None


def test_loading_with_an_unregistered_materializer_names_it(arts: ArtifactStore) -> None:
    ref = m.MaterializedRef("0" * 64, 1, "x/y", "nobody.Registered")
    with pytest.raises(MaterializerError, match=r"nobody\.Registered"):
        m.load(ref, arts)


def test_register_materializer_checks_its_arguments() -> None:
    from triops.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        m.register_materializer("not a type", lambda o, f: None, lambda f: None, "x/y")  # type: ignore[arg-type]
