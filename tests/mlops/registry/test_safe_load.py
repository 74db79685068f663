"""The one loader for model files: a skops file naming ``builtins.eval`` is refused on every path that loads
model files (the loader, the pipeline materializer behind ``load_artifact`` and step inputs), before anything
in it is built; the allow-list is extended only by exact names in the ``trusted_model_types`` setting.

The crafted file is live: the control at the top shows that skops, told to trust what the file names (what
the old prefix rule did for ``builtins.``), builds a transformer whose ``transform`` runs a string as code.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from triops import Workspace
from triops.errors import ConfigError, InvalidInputError, MaterializerError
from triops.mlops.pipelines.materializers import MaterializedRef, load
from triops.mlops.registry.safe_load import load_model
from triops.settings import Settings
from triops.workspace.services import load_artifact

SKOPS = "application/x-skops"


def crafted_eval_model() -> bytes:
    """A FunctionTransformer whose ``func`` is ``builtins.eval``: ``transform("code")`` runs the code."""
    data = sio.dumps(FunctionTransformer(func=print))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries["schema.json"] = entries["schema.json"].replace(b'"print"', b'"eval"')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def payload(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('ran')"


def test_the_crafted_file_is_live_when_its_types_are_trusted(tmp_path: Path) -> None:
    data = crafted_eval_model()
    assert sio.get_untrusted_types(data=data) == ["builtins.eval"]
    marker = tmp_path / "control"
    sio.loads(data, trusted=["builtins.eval"]).transform(payload(marker))
    assert marker.read_text() == "ran"


def test_builtins_eval_is_refused_on_every_loading_path(tmp_path: Path) -> None:
    data = crafted_eval_model()
    with pytest.raises(InvalidInputError, match=r"not on the allow-list: builtins\.eval") as info:
        load_model(data, blob="upload 'x.skops'")
    assert "upload 'x.skops'" in str(info.value) and "trusted_model_types" in str(info.value)

    ws = Workspace.open(
        f"sqlite:///{tmp_path / 's.db'}", artifact_root=tmp_path / "a", settings=Settings(home=tmp_path)
    )
    try:
        stored = ws.artifacts.put_bytes(data, SKOPS)
        # a step input or a cache hit, and ws-level load_artifact: the materializer's load
        with pytest.raises(MaterializerError, match=r"builtins\.eval") as caught:
            load(MaterializedRef(stored.sha256, stored.size, SKOPS, "sklearn"), ws.artifacts)
        assert stored.sha256 in str(caught.value)
        with pytest.raises(MaterializerError, match=r"builtins\.eval"):
            load_artifact(ws.artifacts, stored.sha256, SKOPS)
        # no prefix trust: other exact names do not allow it, and naming builtins at all is refused
        for near in (["numpy.dtype"], ["sklearn.preprocessing._function_transformer.FunctionTransformer"]):
            with pytest.raises(MaterializerError, match=r"builtins\.eval"):
                load_artifact(ws.artifacts, stored.sha256, SKOPS, near)
        with pytest.raises(ConfigError, match=r"'builtins\.eval' can run code"):
            load_artifact(ws.artifacts, stored.sha256, SKOPS, ["builtins.eval"])
    finally:
        ws.close()


@pytest.mark.parametrize(
    "entry", ["builtins.eval", "os.system", "sklearn.", "sklearn.*", "sklearn", "numpy..dtype"]
)
def test_the_setting_takes_only_exact_harmless_names(entry: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="trusted_model_types") as info:
        Settings.load(config_file=tmp_path / "none.toml", trusted_model_types=[entry])
    assert repr(entry) in str(info.value)


def test_an_exact_name_in_the_setting_allows_that_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.mlops.registry.test_serialization import HomeMadeClassifier

    name = f"{HomeMadeClassifier.__module__}.{HomeMadeClassifier.__qualname__}"
    data = sio.dumps(HomeMadeClassifier().fit(None, None))
    with pytest.raises(InvalidInputError, match="HomeMadeClassifier"):
        load_model(data)
    monkeypatch.setenv("TRIOPS_TRUSTED_MODEL_TYPES", f'["{name}"]')
    settings = Settings.load(config_file=tmp_path / "none.toml", home=tmp_path)
    assert settings.trusted_model_types == [name]
    ws = Workspace.open(f"sqlite:///{tmp_path / 's.db'}", artifact_root=tmp_path / "a", settings=settings)
    try:
        stored = ws.artifacts.put_bytes(data, SKOPS)
        loaded = load_artifact(ws.artifacts, stored.sha256, SKOPS, ws.settings.trusted_model_types)
        assert isinstance(loaded, HomeMadeClassifier)
        assert isinstance(ws.models.register("home", loaded, git_commit=None, onnx=False), object)
        assert isinstance(ws.models.load("home/1").model, HomeMadeClassifier)
    finally:
        ws.close()
