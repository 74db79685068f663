"""Materializers: how a step's output becomes a content-addressed artifact and back, without pickle.

Built in: polars and pandas frames → Parquet, numpy arrays → ``.npy`` (``allow_pickle=False``), scikit-learn
estimators → skops, JSON-able values → canonical JSON. Other types need ``register_materializer``. The hash
is computed once, when the value is materialised; cache checks reuse it. Reading a value back re-hashes its
bytes in the same pass (a swapped blob is refused), and a scikit-learn value loads through the one
allow-list loader of model files (``triops.mlops.registry.safe_load``).
"""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from triops.artifacts import ArtifactStore
from triops.errors import InvalidInputError, MaterializerError

Save = Callable[[Any, IO[bytes]], None]
Load = Callable[[IO[bytes]], Any]


@dataclass(frozen=True, slots=True)
class Materializer:
    name: str
    media_type: str
    save: Save
    load: Load
    matches: Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class MaterializedRef:
    """Where a materialised value lives and how to read it back."""

    sha256: str
    size: int
    media_type: str
    materializer: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
            "materializer": self.materializer,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MaterializedRef:
        return cls(str(data["sha256"]), int(data["size"]), str(data["media_type"]), str(data["materializer"]))


_CUSTOM: list[tuple[type, Materializer]] = []
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"
_BY_NAME: dict[str, Materializer] = {}

SUPPORTED = "polars or pandas DataFrame, numpy array, scikit-learn estimator, or a JSON-able value"
REGISTER_HINT = (
    "register one before the pipeline runs, in the module that defines the step: "
    "triops.register_materializer(MyType, save=lambda obj, fh: ..., load=lambda fh: ..., "
    "media_type='application/x-my-type'); or return a " + SUPPORTED
)


def _type_is(obj: Any, module: str, name: str) -> bool:
    if module not in sys.modules:  # not imported: obj cannot be one of its types
        return False
    return any(c.__name__ == name and c.__module__.split(".")[0] == module for c in type(obj).__mro__)


# ---- polars ----
def _polars_save(obj: Any, fh: IO[bytes]) -> None:
    obj.write_parquet(fh, compression="zstd", statistics=False)


def _polars_load(fh: IO[bytes]) -> Any:
    import polars as pl

    return pl.read_parquet(fh)


# ---- pandas ----
def _pandas_save(obj: Any, fh: IO[bytes]) -> None:
    obj.to_parquet(fh, engine="pyarrow", compression="zstd")


def _pandas_load(fh: IO[bytes]) -> Any:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    return pd.read_parquet(fh, engine="pyarrow")


# ---- numpy ----
def _numpy_save(obj: Any, fh: IO[bytes]) -> None:
    import numpy as np

    try:
        np.save(fh, obj, allow_pickle=False)
    except ValueError as exc:
        raise MaterializerError(
            f"a numpy array of dtype {obj.dtype} cannot be stored without pickle",
            hint="convert it to a numeric or string dtype, or register a materializer",
        ) from exc


def _numpy_load(fh: IO[bytes]) -> Any:
    import numpy as np

    return np.load(fh, allow_pickle=False)


# ---- scikit-learn via skops ----
_SKOPS_ID = re.compile(rb'"__id__": (\d+)|"(\d+)\.(\w+)"')


def _normalise_zip(data: bytes) -> bytes:
    """skops names objects by their memory address and stamps each zip entry with the current time;
    renumbering the ids in order of appearance and fixing the times make equal models hash equal."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        entries = {info.filename: src.read(info) for info in src.infolist()}
    schema = entries.pop("schema.json")
    mapping: dict[bytes, bytes] = {}
    for match in _SKOPS_ID.finditer(schema):
        old = match.group(1) or match.group(2)
        mapping.setdefault(old, str(len(mapping) + 1).encode())

    def renumber(match: re.Match[bytes]) -> bytes:
        if match.group(1):
            return b'"__id__": ' + mapping[match.group(1)]
        return b'"' + mapping[match.group(2)] + b"." + match.group(3) + b'"'

    renamed = {"schema.json": _SKOPS_ID.sub(renumber, schema)}
    for filename, content in entries.items():
        stem, dot, ext = filename.partition(".")
        renamed[(mapping.get(stem.encode(), stem.encode()).decode() + dot + ext)] = content
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for filename in sorted(renamed):
            entry = zipfile.ZipInfo(filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, renamed[filename])
    return out.getvalue()


def _sklearn_save(obj: Any, fh: IO[bytes]) -> None:
    import skops.io as sio

    fh.write(_normalise_zip(sio.dumps(obj)))


def _sklearn_load(fh: IO[bytes], trusted: Sequence[str] = (), blob: str | None = None) -> Any:
    """Through the one allow-list loader of model files (exact type names, nothing trusted by prefix)."""
    from triops.mlops.registry.safe_load import load_model

    try:
        return load_model(fh.read(), trusted, blob=blob)
    except InvalidInputError as exc:
        raise MaterializerError(exc.message, hint=exc.hint, detail=exc.detail) from None


# ---- JSON ----
def _json_default(obj: Any) -> Any:
    if _type_is(obj, "numpy", "generic"):
        return obj.item()
    raise TypeError(type(obj).__name__)


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default).encode()


def _is_jsonable(obj: Any) -> bool:
    try:
        _json_bytes(obj)
    except (TypeError, ValueError):
        return False
    return True


def _json_save(obj: Any, fh: IO[bytes]) -> None:
    fh.write(_json_bytes(obj))


def _json_load(fh: IO[bytes]) -> Any:
    return json.loads(fh.read())


def _sklearn_matches(obj: Any) -> bool:
    if "sklearn" not in sys.modules:
        return False
    from sklearn.base import BaseEstimator

    return isinstance(obj, BaseEstimator)


_BUILTIN = (
    Materializer(
        "polars",
        PARQUET_MEDIA_TYPE,
        _polars_save,
        _polars_load,
        lambda o: _type_is(o, "polars", "DataFrame"),
    ),
    Materializer(
        "pandas",
        PARQUET_MEDIA_TYPE,
        _pandas_save,
        _pandas_load,
        lambda o: _type_is(o, "pandas", "DataFrame"),
    ),
    Materializer(
        "numpy", "application/x-npy", _numpy_save, _numpy_load, lambda o: _type_is(o, "numpy", "ndarray")
    ),
    Materializer("sklearn", "application/x-skops", _sklearn_save, _sklearn_load, _sklearn_matches),
    Materializer("json", "application/json", _json_save, _json_load, _is_jsonable),
)
for _m in _BUILTIN:
    _BY_NAME[_m.name] = _m
_JSON = _BUILTIN[-1]


def register_materializer(
    type_: type, save: Save, load: Load, media_type: str, *, name: str | None = None
) -> Materializer:
    """Teach triops to store values of ``type_`` (and its subclasses): ``save(obj, fh)`` writes bytes to a
    binary file, ``load(fh)`` reads them back. Registered materializers are tried before the built-in ones."""
    if not isinstance(type_, type):
        raise InvalidInputError(
            f"register_materializer needs a type, got {type_!r}", hint="pass the class itself"
        )
    if not callable(save) or not callable(load):
        raise InvalidInputError(
            "save and load must be callables", hint="save(obj, fh) -> None; load(fh) -> obj"
        )
    key = name or f"{type_.__module__}.{type_.__qualname__}"
    mat = Materializer(key, media_type, save, load, lambda o: isinstance(o, type_))
    _CUSTOM[:] = [(t, m) for t, m in _CUSTOM if m.name != key]
    _CUSTOM.insert(0, (type_, mat))
    _BY_NAME[key] = mat
    return mat


def materializer_for(obj: Any, *, step: str = "?") -> Materializer:
    for _type, mat in _CUSTOM:
        if isinstance(obj, _type):
            return mat
    for mat in _BUILTIN:
        if mat.matches(obj):
            return mat
    kind = type(obj)
    raise MaterializerError(
        f"step {step!r} returned a {kind.__module__}.{kind.__qualname__}, "
        "which triops cannot store without pickle",
        hint=REGISTER_HINT,
    )


def get_materializer(name: str) -> Materializer:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise MaterializerError(
            f"no materializer named {name!r} is registered in this process",
            hint="import the module that calls register_materializer before loading this artifact",
        ) from None


def materializer_for_media_type(media_type: str) -> Materializer | None:
    """The materializer that writes ``media_type`` (the first registered, built-ins first), if any."""
    return next((mat for mat in _BY_NAME.values() if mat.media_type == media_type), None)


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def to_bytes(obj: Any, *, step: str = "?") -> tuple[bytes, Materializer]:
    if type(obj) in _JSON_SCALARS and not any(isinstance(obj, t) for t, _ in _CUSTOM):
        # a plain scalar (most trivial steps' output) is JSON whatever else is registered: serialised
        # once, without asking every built-in materializer (and JSON itself, a second dump) first
        return _json_bytes(obj), _JSON
    mat = materializer_for(obj, step=step)
    buffer = io.BytesIO()
    try:
        mat.save(obj, buffer)
    except MaterializerError:
        raise
    except Exception as exc:
        raise MaterializerError(
            f"step {step!r}: the {mat.name} materializer could not save a {type(obj).__name__}: {exc}",
            hint=REGISTER_HINT,
        ) from exc
    return buffer.getvalue(), mat


def materialize(obj: Any, artifacts: ArtifactStore, *, step: str = "?") -> MaterializedRef:
    """Store ``obj`` content-addressed; its sha256 is computed here, once."""
    data, mat = to_bytes(obj, step=step)
    stored = artifacts.put_bytes(data, mat.media_type)
    return MaterializedRef(stored.sha256, stored.size, mat.media_type, mat.name)


def load(ref: MaterializedRef, artifacts: ArtifactStore, *, trusted: Sequence[str] = ()) -> Any:
    """The value of ``ref``. Its bytes are hashed as they are read (a blob that no longer matches its sha256
    is an error, nothing is built from it); a model file loads only if every type in it is on the
    allow-list (plus the exact names in ``trusted``)."""
    mat = get_materializer(ref.materializer)
    data = artifacts.get_bytes(ref.sha256)
    if mat.load is _sklearn_load:
        return _sklearn_load(io.BytesIO(data), trusted, f"artifact {ref.sha256}")
    return mat.load(io.BytesIO(data))


__all__ = [
    "PARQUET_MEDIA_TYPE",
    "MaterializedRef",
    "Materializer",
    "get_materializer",
    "load",
    "materialize",
    "materializer_for",
    "materializer_for_media_type",
    "register_materializer",
    "to_bytes",
]
