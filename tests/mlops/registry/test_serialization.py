"""Safe model files: skops round trips, untrusted types refused by name, ONNX agreeing within 1e-5."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from triops.errors import InvalidInputError
from triops.mlops.registry.serialization import (
    ONNX_TOLERANCE,
    OnnxPredictor,
    dump_model,
    export_onnx,
    load_model,
    untrusted_types,
)
from triops.mlops.registry.signature import infer_signature


class HomeMadeClassifier(ClassifierMixin, BaseEstimator):
    """A type skops does not know, standing in for anything a stranger could ship."""

    def fit(self, x: object, y: object) -> HomeMadeClassifier:
        self.classes_ = np.array([0, 1])
        return self


def _data(n: int = 300) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"age": rng.integers(18, 65, n), "rr": rng.random(n), "tenure": rng.integers(0, 30, n)})
    y = pd.Series(np.where(x.rr + rng.normal(0, 0.2, n) > 0.5, "yes", "no"))
    return x, y


def test_skops_round_trip_predicts_the_same() -> None:
    x, y = _data()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    loaded = load_model(dump_model(model))
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))


def test_untrusted_type_is_refused_with_its_name() -> None:
    data = dump_model(HomeMadeClassifier().fit(None, None))
    assert untrusted_types(data) == [f"{__name__}.HomeMadeClassifier"]
    with pytest.raises(InvalidInputError, match=r"not on the allow-list: .*HomeMadeClassifier") as info:
        load_model(data)
    assert info.value.detail["untrusted_types"] == [f"{__name__}.HomeMadeClassifier"]


def test_untrusted_type_loads_when_the_caller_trusts_it() -> None:
    data = dump_model(HomeMadeClassifier().fit(None, None))
    assert isinstance(load_model(data, trusted=[f"{__name__}.HomeMadeClassifier"]), HomeMadeClassifier)


def test_pickle_bytes_are_never_loaded() -> None:
    with pytest.raises(InvalidInputError, match="not a skops archive"):
        load_model(pickle.dumps(LogisticRegression()))


def test_zip_without_skops_schema_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.pkl", pickle.dumps(1))
    with pytest.raises(InvalidInputError, match=r"schema\.json"):
        load_model(buffer.getvalue())


def test_onnx_classifier_agrees_with_sklearn_within_tolerance() -> None:
    x, y = _data()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    sig = infer_signature(x)
    export = export_onnx(model, sig, x)
    assert export.data is not None, export.reason
    onnx = OnnxPredictor(export.data, sig)
    assert np.max(np.abs(onnx.predict_proba(x) - model.predict_proba(x))) <= ONNX_TOLERANCE
    np.testing.assert_array_equal(onnx.predict(x), model.predict(x))


def test_onnx_regressor_agrees_with_sklearn_within_tolerance() -> None:
    x, _ = _data()
    target = 2.0 * x.rr + 0.01 * x.age
    model = LinearRegression().fit(x, target)
    export = export_onnx(model, infer_signature(x), x)
    assert export.data is not None, export.reason
    onnx = OnnxPredictor(export.data, infer_signature(x))
    assert np.max(np.abs(onnx.predict(x) - model.predict(x))) <= ONNX_TOLERANCE


def test_onnx_export_that_would_disagree_is_not_kept() -> None:
    x, y = _data()
    model = RandomForestClassifier(n_estimators=15, random_state=0).fit(x, y)
    export = export_onnx(model, infer_signature(x), x)
    if export.data is not None:  # a converter that got exact is fine; what matters is it agrees
        onnx = OnnxPredictor(export.data, infer_signature(x))
        assert np.max(np.abs(onnx.predict_proba(x) - model.predict_proba(x))) <= ONNX_TOLERANCE
    else:
        assert export.reason


def test_onnx_export_of_a_mixed_type_pipeline_agrees() -> None:
    x, y = _data()
    frame = x.assign(sex=np.where(x.age > 40, "male", "female"))
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["sex"]), remainder="passthrough"), LogisticRegression()
    ).fit(frame, y)
    export = export_onnx(model, infer_signature(frame), frame)
    assert export.data is not None, export.reason
    onnx = OnnxPredictor(export.data, infer_signature(frame))
    assert np.max(np.abs(onnx.predict_proba(frame) - model.predict_proba(frame))) <= ONNX_TOLERANCE


def test_onnx_export_of_an_unsupported_model_says_why() -> None:
    x, y = _data()
    model = HomeMadeClassifier().fit(x, y)
    export = export_onnx(model, infer_signature(x), x)
    assert export.data is None
    assert export.reason is not None
    assert "cannot convert" in export.reason


def test_onnx_predictor_checks_the_signature() -> None:
    x, y = _data()
    model = LogisticRegression().fit(x, y)
    export = export_onnx(model, infer_signature(x), x)
    assert export.data is not None
    with pytest.raises(InvalidInputError, match="missing: rr"):
        OnnxPredictor(export.data, infer_signature(x)).predict(x.drop(columns=["rr"]))


def test_tree_models_round_trip_through_triops_trusted_sklearn_internals() -> None:
    x, y = _data()
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y)
    loaded = load_model(dump_model(model))
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
