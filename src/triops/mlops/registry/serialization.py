"""Safe model files: skops for scikit-learn models, ONNX (skl2onnx + onnxruntime) for portable serving.

Nothing here unpickles bytes. ``load_model`` (from ``safe_load``, the one loader for model files) reads a
skops archive only if every type in it is on the allow-list of exact names, naming each one it refuses.

``export_onnx`` converts a fitted model where skl2onnx supports it and keeps the result only if
onnxruntime's predictions agree with the model's own within ``ONNX_TOLERANCE`` on sample rows; otherwise
it says why not (the model still serves through skops).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from triops.errors import InvalidInputError
from triops.mlops.registry.safe_load import load_model, untrusted_types
from triops.mlops.registry.signature import Signature, to_pandas

SKOPS_MEDIA_TYPE = "application/vnd.skops+zip"
ONNX_MEDIA_TYPE = "application/vnd.onnx"
ONNX_TOLERANCE = 1e-5
_ONNX_CHECK_ROWS = 1000


def dump_model(model: object) -> bytes:
    """The model as skops bytes."""
    import skops.io as sio

    try:
        data: bytes = sio.dumps(model)
    except Exception as exc:  # skops raises bare TypeErrors for objects it cannot represent
        raise InvalidInputError(
            f"cannot save a {type(model).__name__} with skops: {exc}",
            hint="register scikit-learn compatible estimators built from library types",
        ) from exc
    return data


@dataclass(frozen=True, slots=True)
class OnnxExport:
    """The ONNX bytes of a model, or ``None`` with the reason it could not be exported."""

    data: bytes | None
    reason: str | None = None
    max_abs_diff: float | None = None


def export_onnx(model: Any, signature: Signature, sample: Any) -> OnnxExport:
    """Convert ``model`` to ONNX and keep it only if onnxruntime agrees with the model on ``sample``.

    Real-valued inputs are tried as double first, then as float (some converters only take float; a
    float model is still kept when it agrees within ``ONNX_TOLERANCE``).
    """
    try:
        from skl2onnx import to_onnx  # type: ignore[import-untyped, unused-ignore]
        from skl2onnx.common.data_types import (  # type: ignore[import-untyped, unused-ignore]
            DoubleTensorType,
            FloatTensorType,
            Int64TensorType,
            StringTensorType,
        )
    except ImportError:  # pragma: no cover - skl2onnx is a dependency, but serving must not need it
        return OnnxExport(None, "skl2onnx is not installed")
    frame = to_pandas(sample).head(_ONNX_CHECK_ROWS)
    signature.check(frame)
    options = {"zipmap": False} if hasattr(model, "predict_proba") else None
    reasons: list[str] = []
    best: OnnxExport | None = None
    for real in (DoubleTensorType, FloatTensorType):
        if signature.all_numeric():
            initial: list[tuple[str, Any]] = [("X", real([None, len(signature.columns)]))]
        else:
            kinds = {"string": StringTensorType, "integer": Int64TensorType, "boolean": Int64TensorType}
            initial = [(c.name, kinds.get(c.kind, real)([None, 1])) for c in signature.columns]
        try:
            onx = to_onnx(
                model, initial_types=initial, options=options, target_opset={"": 17, "ai.onnx.ml": 3}
            )
            data: bytes = onx.SerializeToString()
            diff = OnnxPredictor(data, signature).max_abs_diff(model, frame)
        except Exception as exc:  # skl2onnx and onnxruntime raise many unrelated types for unsupported models
            reasons.append(f"skl2onnx cannot convert this model: {type(exc).__name__}: {exc}"[:300])
            continue
        if diff <= ONNX_TOLERANCE:
            return OnnxExport(data, None, diff)
        reasons.append(f"ONNX predictions differ by {diff:.3g} > {ONNX_TOLERANCE}")
        if best is None or diff < (best.max_abs_diff or float("inf")):
            best = OnnxExport(None, None, diff)
    return OnnxExport(None, "; ".join(dict.fromkeys(reasons)), best.max_abs_diff if best else None)


_TENSOR_TYPES: dict[str, Any] = {
    "tensor(string)": object,
    "tensor(int64)": np.int64,
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
}


class OnnxPredictor:
    """Predictions from ONNX bytes through onnxruntime, fed from a frame matching ``signature``."""

    def __init__(self, data: bytes, signature: Signature) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped, unused-ignore]

        self.signature = signature
        self._session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        self._outputs = [o.name for o in self._session.get_outputs()]
        self._inputs = {i.name: _TENSOR_TYPES.get(i.type, np.float64) for i in self._session.get_inputs()}

    def _feeds(self, frame: Any) -> dict[str, npt.NDArray[Any]]:
        data = to_pandas(frame)
        self.signature.check(data)
        if set(self._inputs) == {"X"} and "X" not in self.signature.names():
            return {"X": data[self.signature.names()].to_numpy(dtype=self._inputs["X"])}
        feeds: dict[str, npt.NDArray[Any]] = {}
        for name, dtype in self._inputs.items():
            values = data[name].to_numpy()
            if dtype is object:
                values = values.astype(str)
            feeds[name] = values.astype(dtype).reshape(-1, 1)
        return feeds

    def run(self, frame: Any) -> Mapping[str, npt.NDArray[Any]]:
        results = self._session.run(None, self._feeds(frame))
        return {name: np.asarray(value) for name, value in zip(self._outputs, results, strict=True)}

    def predict(self, frame: Any) -> npt.NDArray[Any]:
        out = self.run(frame)
        return out[self._outputs[0]].ravel() if out[self._outputs[0]].ndim > 1 else out[self._outputs[0]]

    def predict_proba(self, frame: Any) -> npt.NDArray[np.float64]:
        out = self.run(frame)
        if len(self._outputs) < 2:
            raise InvalidInputError("this ONNX model has no probability output (it is not a classifier)")
        return np.asarray(out[self._outputs[1]], dtype=np.float64)

    def max_abs_diff(self, model: Any, frame: Any) -> float:
        """Largest absolute difference between this ONNX model's and ``model``'s predictions."""
        data = to_pandas(frame)[self.signature.names()]
        if self.signature.all_numeric():
            data = data.to_numpy(dtype=np.float64) if not _fitted_on_frame(model) else data
        if hasattr(model, "predict_proba"):
            theirs = np.asarray(model.predict_proba(data), dtype=np.float64)
            labels_agree = bool(np.array_equal(np.asarray(model.predict(data)), self.predict(frame)))
            diff = float(np.max(np.abs(theirs - self.predict_proba(frame)))) if theirs.size else 0.0
            return diff if labels_agree else float("inf")
        theirs = np.asarray(model.predict(data), dtype=np.float64).ravel()
        ours = np.asarray(self.predict(frame), dtype=np.float64).ravel()
        return float(np.max(np.abs(theirs - ours))) if theirs.size else 0.0


def _fitted_on_frame(model: Any) -> bool:
    return hasattr(model, "feature_names_in_")


__all__ = [
    "ONNX_MEDIA_TYPE",
    "SKOPS_MEDIA_TYPE",
    "OnnxExport",
    "OnnxPredictor",
    "dump_model",
    "export_onnx",
    "load_model",
    "untrusted_types",
]
