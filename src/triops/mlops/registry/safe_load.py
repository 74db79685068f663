"""The one loader for model files: a skops archive is loaded only if every type in it is on an allow-list
of exact names.

skops rebuilds an object from a type named in the file (``module.Name``) and, for some nodes, calls it
with arguments from the file, so the names a file may use are the whole of its power: ``builtins.eval``
with a string argument runs code. The allow-list is

- skops' own default set (exact names: the public scikit-learn estimators, numpy/scipy ufuncs and dtypes,
  ``int``/``float``/``str``/``bool``, ``list``/``set``/``tuple``/``map``), which ``get_untrusted_types``
  leaves out of what it reports;
- ``TRUSTED_MODEL_TYPES`` below: the scikit-learn internals and numpy types that skops reports for the
  estimators triops supports (trees, boosting, neighbours, MLP, imputers);
- the types an operator names in the ``trusted_model_types`` setting (``TRIOPS_TRUSTED_MODEL_TYPES``, a
  JSON list, or ``trusted_model_types = [...]`` under ``[triops]`` in triops.toml), exact names only.

Nothing is trusted by prefix. Any other type refuses the whole file before anything in it is built, with
an error naming each type, the blob, and the setting that allows it. The registry, the pipeline
materializer (step inputs and cache hits), serving, ``ws.models.load`` and the server's upload route all
load through ``load_model`` here.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from typing import Any

from triops.errors import ConfigError, InvalidInputError

TRUSTED_MODEL_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.ChebyshevDistance64",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.tree._tree.Tree",
)
SETTING = "trusted_model_types"
_ENV = "TRIOPS_TRUSTED_MODEL_TYPES"
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")
# modules whose callables reach the interpreter, the OS or arbitrary imports: never model state
_NEVER = frozenset(
    {"builtins", "os", "posix", "nt", "sys", "subprocess", "importlib", "runpy", "pickle", "marshal"}
    | {"shutil", "ctypes", "code", "codeop", "pty", "socket", "operator", "types", "io"}
)


def check_trusted_names(names: Iterable[str], where: str = SETTING) -> tuple[str, ...]:
    """``names`` as exact dotted type names, or an error naming the first that is not one (a prefix, a
    wildcard, or a type from a module that can run code)."""
    out: list[str] = []
    for name in names:
        if not isinstance(name, str) or not _DOTTED.fullmatch(name):
            raise ConfigError(
                f"{where}: {name!r} is not an exact type name",
                hint="name each type in full as skops reports it, e.g. 'mypkg.models.MyEstimator' "
                "(no prefixes or wildcards)",
            )
        if name.split(".", 1)[0] in _NEVER:
            raise ConfigError(
                f"{where}: {name!r} can run code or reach the system; triops never trusts it in a model file",
                hint="remove it; a model file never needs it",
            )
        out.append(name)
    return tuple(out)


def untrusted_types(data: bytes, trusted: Iterable[str] = ()) -> list[str]:
    """Types in a skops archive outside the allow-list (skops' defaults, ``TRUSTED_MODEL_TYPES``,
    ``trusted``), in the order skops reports them."""
    return _refused(_named_types(data), trusted)


def load_model(data: bytes, trusted: Iterable[str] = (), *, blob: str | None = None) -> Any:
    """Load skops bytes, refusing the file if it holds any type not on the allow-list (each one named).
    ``blob`` (a sha256 or file name) says which file in the error."""
    import skops.io as sio

    named = _named_types(data)
    unknown = _refused(named, trusted)
    if unknown:
        which = f"model file {blob}" if blob else "model file"
        raise InvalidInputError(
            f"{which} holds {len(unknown)} type(s) not on the allow-list: {', '.join(unknown)}",
            hint=f"refused before loading. If you reviewed the file's origin and trust these exact types, "
            f"add them to the {SETTING} setting ({_ENV}='[\"{unknown[0]}\"]' or {SETTING} = [...] under "
            "[triops] in triops.toml); see docs/security.md",
            detail={"untrusted_types": unknown, "blob": blob},
        )
    # every name is on the allow-list: skops is told exactly which of its non-default types it may build
    return sio.loads(data, trusted=named or None)


def _named_types(data: bytes) -> list[str]:
    """The types in the archive that skops' default set does not hold (read from its schema, nothing built)."""
    import skops.io as sio

    check_archive(data)
    return list(sio.get_untrusted_types(data=data))


def _refused(named: list[str], trusted: Iterable[str]) -> list[str]:
    allowed = set(TRUSTED_MODEL_TYPES) | set(check_trusted_names(trusted))
    return [t for t in named if t not in allowed]


def check_archive(data: bytes) -> None:
    """A skops archive (a zip with skops' ``schema.json``), or an error; never anything else."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidInputError(f"model data is a {type(data).__name__}, not bytes")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as exc:
        raise InvalidInputError(
            "model data is not a skops archive (not a zip file)",
            hint="triops only loads models it saved with skops; it never unpickles other files",
        ) from exc
    if "schema.json" not in names:
        raise InvalidInputError("model data is a zip file without skops' schema.json; refusing to load it")


__all__ = [
    "SETTING",
    "TRUSTED_MODEL_TYPES",
    "check_archive",
    "check_trusted_names",
    "load_model",
    "untrusted_types",
]
