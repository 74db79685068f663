"""A model version ready to answer: ONNX Runtime where the version has an ONNX file that agreed with the
original at registration, the skops model otherwise (never pickle; both come from
``triops.mlops.registry.serialization``).

``Predictor.predict(columns, n)`` takes typed input columns (``serving.inputs``) and returns the predicted
values and, for a binary classifier, the positive-class probabilities (``score``). The ONNX path feeds
numpy arrays straight to the session (no DataFrame); the skops path builds one pandas frame in signature
order, as the model was fitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from triops.errors import InvalidInputError
from triops.mlops.registry.records import LoadedModel, ModelVersion
from triops.mlops.registry.signature import Signature
from triops.mlops.serving.inputs import Columns

_ONNX_DTYPES: dict[str, Any] = {
    "tensor(string)": object,
    "tensor(int64)": np.int64,
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
}


@dataclass(frozen=True, slots=True)
class Prediction:
    """Predicted values (JSON-ready Python scalars) and, for binary classifiers, positive-class scores."""

    outputs: list[Any]
    scores: list[float] | None


def _scalars(values: npt.NDArray[Any]) -> list[Any]:
    flat = np.asarray(values).ravel()
    if flat.dtype.kind in "OUS":
        return [str(v) for v in flat]
    return list(flat.tolist())


class Predictor:
    """One loaded model version. ``engine`` is ``"onnx"`` or ``"skops"``."""

    def __init__(self, loaded: LoadedModel, *, prefer_onnx: bool = True) -> None:
        version = loaded.version
        if version.signature is None:
            raise InvalidInputError(
                f"model {version.ref} has no input signature, so its inputs cannot be checked for serving",
                hint="register it with training_frame=... (or signature=...) to serve it",
            )
        self.version: ModelVersion = version
        self.signature: Signature = version.signature
        self._model = loaded.model
        self._names = self.signature.names()
        self._classifier = hasattr(loaded.model, "predict_proba")
        self._session: Any = None
        if prefer_onnx and loaded._onnx is not None:
            import onnxruntime as ort  # type: ignore[import-untyped, unused-ignore]

            options = ort.SessionOptions()
            options.intra_op_num_threads = 1  # one request is small; threads cost more than they save
            options.inter_op_num_threads = 1
            self._session = ort.InferenceSession(
                loaded._onnx, sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._outputs = [o.name for o in self._session.get_outputs()]
            self._inputs = {i.name: _ONNX_DTYPES.get(i.type, np.float64) for i in self._session.get_inputs()}
            self._stacked = set(self._inputs) == {"X"} and "X" not in self._names
        self.engine = "onnx" if self._session is not None else "skops"

    def _feeds(self, cols: Columns, n: int) -> dict[str, npt.NDArray[Any]]:
        if self._stacked:
            dtype = self._inputs["X"]
            if n == 1:
                row = [cols[name][0] for name in self._names]
                return {"X": np.array([row], dtype=dtype)}
            return {"X": np.column_stack([cols[name].astype(dtype, copy=False) for name in self._names])}
        feeds: dict[str, npt.NDArray[Any]] = {}
        for name, dtype in self._inputs.items():
            values = cols[name]
            if dtype is object:
                values = values.astype(str).astype(object)
            feeds[name] = values.astype(dtype, copy=False).reshape(-1, 1)
        return feeds

    def predict(self, cols: Columns, n: int) -> Prediction:
        if self._session is not None:
            results = self._session.run(None, self._feeds(cols, n))
            labels = results[0]
            proba = results[1] if self._classifier and len(results) > 1 else None
        else:
            import pandas as pd

            frame = pd.DataFrame({name: cols[name] for name in self._names}, columns=self._names)
            data: Any = frame if hasattr(self._model, "feature_names_in_") else frame.to_numpy()
            labels = self._model.predict(data)
            proba = self._model.predict_proba(data) if self._classifier else None
        scores = None
        if proba is not None:
            matrix = np.asarray(proba, dtype=np.float64)
            if matrix.ndim == 2 and matrix.shape[1] == 2:
                scores = matrix[:, 1].tolist()
        return Prediction(_scalars(labels), scores)
