"""A served model for tests: a dataset whose contract classifies ``income`` restricted, and logistic
regressions trained on it (all-numeric, so ONNX serves them; ``onnx=False`` forces skops)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from triops import Workspace

CONTRACT = """\
apiVersion: v3.0.2
kind: DataContract
id: claimants
version: 1.0.0
status: active
schema:
  - name: claimants
    properties:
      - name: age
        logicalType: integer
      - name: tenure
        logicalType: number
      - name: income
        logicalType: number
        classification: restricted
      - name: ui
        logicalType: integer
"""
FEATURES = ["age", "tenure", "income"]
# the same columns, plus a table rule the data cannot meet: its check fails (gate tests train on it)
FEW_ROWS = (
    CONTRACT.replace("v3.0.2", "v3.1.0")
    + "    quality:\n      - name: plenty\n        metric: rowCount\n        mustBeGreaterThan: 100000\n"
)


def claimants(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 65, n),
            "tenure": rng.random(n) * 10,
            "income": rng.normal(30_000, 8_000, n).round(2),
        }
    )
    frame["ui"] = ((frame.tenure + rng.normal(0, 2, n)) > 5).astype(int)
    return frame


def register_served(ws: Workspace, *, c: float = 1.0, onnx: bool = True, alias: str = "champion") -> int:
    """Register the dataset (first call) and one more model version; point ``alias`` at it."""
    from sklearn.linear_model import LogisticRegression

    data = claimants()
    found = ws.datasets.register("claimants", data, contract=CONTRACT)
    model = LogisticRegression(C=c, max_iter=500).fit(data[FEATURES], data.ui)
    version = ws.models.register(
        "claims", model, training_frame=data[FEATURES], datasets=[found.version.id], onnx=onnx
    )
    ws.models.set_alias("claims", alias, version.version)
    return version.version


def row(i: int = 0) -> dict[str, object]:
    data = claimants().iloc[i]
    return {"age": int(data.age), "tenure": float(data.tenure), "income": float(data.income)}
