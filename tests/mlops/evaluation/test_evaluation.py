"""Evaluation: point metrics match scikit-learn, vectorised bootstrap intervals, champion vs challenger."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression

from triops.errors import InvalidInputError
from triops.mlops.evaluation.bootstrap import classification_replicates, regression_replicates
from triops.mlops.evaluation.comparison import compare_models, mcnemar
from triops.mlops.evaluation.evaluate import evaluate_classification, evaluate_model


def _scores(n: int, seed: int = 1, noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (x + rng.normal(scale=noise, size=n) > 0).astype(float)
    return y, 1 / (1 + np.exp(-1.5 * x))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 20)), min_size=4, max_size=60),
)
def test_cell_metrics_equal_sklearn_with_ties(rows: list[tuple[int, int]]) -> None:
    y = np.array([r[0] for r in rows], dtype=float)
    p = np.array([r[1] / 20 for r in rows])
    if y.min() == y.max():
        return
    _, on_cells, exact = classification_replicates(y, p, resamples=0)
    assert exact
    yhat = (p >= 0.5).astype(float)
    assert on_cells["accuracy"] == pytest.approx(skm.accuracy_score(y, yhat))
    assert on_cells["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert on_cells["pr_auc"] == pytest.approx(skm.average_precision_score(y, p))
    assert on_cells["brier"] == pytest.approx(skm.brier_score_loss(y, p))
    assert on_cells["log_loss"] == pytest.approx(skm.log_loss(y, np.clip(p, 1e-15, 1 - 1e-15)))
    if yhat.sum() > 0:
        assert on_cells["precision"] == pytest.approx(skm.precision_score(y, yhat))
    assert on_cells["recall"] == pytest.approx(skm.recall_score(y, yhat))


def test_bootstrap_replicates_weighted_by_counts_match_sklearn_sample_weight() -> None:
    y, p = _scores(400)
    counts = np.random.default_rng(5).multinomial(400, np.full(400, 1 / 400))
    from triops.mlops.evaluation import bootstrap

    cells = bootstrap._cells(y, p, 0.5, 10, 2000, exact=True)
    per_cell = np.bincount(cells.cell_of_row, weights=counts, minlength=len(cells.count))
    got = bootstrap._classification_from_counts(per_cell[None, :], cells, 10)
    assert got["roc_auc"][0] == pytest.approx(skm.roc_auc_score(y, p, sample_weight=counts))
    assert got["pr_auc"][0] == pytest.approx(skm.average_precision_score(y, p, sample_weight=counts))
    assert got["brier"][0] == pytest.approx(skm.brier_score_loss(y, p, sample_weight=counts))


def test_classification_result_has_every_metric_with_an_interval_around_it() -> None:
    y, p = _scores(3000)
    result = evaluate_classification(y, p, resamples=300)
    expected = {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier", "ece"}
    assert set(result.metrics) == expected
    for name, m in result.metrics.items():
        assert m.low is not None, name
        assert m.high is not None, name
        assert m.value is not None, name
        assert m.low <= m.value <= m.high, name
    assert result.metric("roc_auc") == pytest.approx(skm.roc_auc_score(y, p))
    yhat = p >= 0.5
    assert result.metric("precision") == pytest.approx(skm.precision_score(y, yhat))
    assert result.metric("f1") == pytest.approx(skm.f1_score(y, yhat))
    assert result.confusion_matrix == skm.confusion_matrix(y, yhat).tolist()
    assert result.to_dict()["metrics"]["f1"]["value"] == pytest.approx(result.metric("f1"))


def test_large_data_is_binned_and_intervals_stay_close_to_exact() -> None:
    y, p = _scores(20_000)
    exact_reps, _, exact = classification_replicates(y, p, resamples=300)
    binned_reps, on_cells, binned_exact = classification_replicates(y, p, resamples=300, exact_budget=0)
    assert exact
    assert not binned_exact
    assert on_cells["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-3)
    for name in ("roc_auc", "accuracy", "log_loss"):
        for q in (2.5, 97.5):
            assert np.percentile(binned_reps[name], q) == pytest.approx(
                np.percentile(exact_reps[name], q), abs=0.004
            ), name


def test_interval_covers_the_true_auc_in_most_repeats() -> None:
    big_y, big_p = _scores(200_000, seed=99)
    truth = skm.roc_auc_score(big_y, big_p)
    covered = 0
    for seed in range(12):
        y, p = _scores(600, seed=seed)
        m = evaluate_classification(y, p, resamples=300, seed=seed).metrics["roc_auc"]
        assert m.low is not None
        assert m.high is not None
        covered += m.low <= truth <= m.high
    assert covered >= 9


def test_same_seed_gives_same_intervals() -> None:
    y, p = _scores(500)
    a = evaluate_classification(y, p, resamples=100, seed=7)
    b = evaluate_classification(y, p, resamples=100, seed=7)
    assert a.metrics == b.metrics


def test_regression_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(10, 2, 800)
    pred = y + rng.normal(0, 1, 800)
    result = evaluate_model(
        LinearRegression().fit(pd.DataFrame({"x": pred}), y),
        pd.DataFrame({"x": pred, "y": y}),
        target="y",
        task="regression",
        resamples=200,
    )
    fitted = LinearRegression().fit(pd.DataFrame({"x": pred}), y).predict(pd.DataFrame({"x": pred}))
    assert result.metric("mae") == pytest.approx(skm.mean_absolute_error(y, fitted))
    assert result.metric("r2") == pytest.approx(skm.r2_score(y, fitted))
    reps = regression_replicates(y, fitted, resamples=200)
    assert reps["rmse"].shape == (200,)
    m = result.metrics["rmse"]
    assert m.low is not None
    assert m.high is not None
    assert m.low < m.value < m.high


def _benefits_like(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    age = rng.integers(18, 65, n)
    rr = rng.random(n)
    ui = np.where(rr + rng.normal(0, 0.3, n) > 0.5, "yes", "no")
    return pd.DataFrame({"age": age, "rr": rr, "sex": rng.choice(["male", "female"], n), "ui": ui})


def test_evaluate_model_on_polars_frame_with_sensitive_columns() -> None:
    data = _benefits_like()
    model = LogisticRegression().fit(data[["age", "rr"]], data.ui)
    result = evaluate_model(
        model, pl.from_pandas(data.assign(extra=1)), target="ui", sensitive=["sex"], resamples=50
    )
    assert result.pos_label == "yes"
    assert set(result.fairness) == {"sex"}


def test_missing_target_column_is_named() -> None:
    data = _benefits_like()
    model = LogisticRegression().fit(data[["age", "rr"]], data.ui)
    with pytest.raises(InvalidInputError, match="target column 'outcome'"):
        evaluate_model(model, data, target="outcome")


def test_missing_sensitive_column_is_named() -> None:
    data = _benefits_like()
    model = LogisticRegression().fit(data[["age", "rr"]], data.ui)
    with pytest.raises(InvalidInputError, match="sensitive column\\(s\\) 'nwhite'"):
        evaluate_model(model, data, target="ui", sensitive=["sex", "nwhite"])


def test_unknown_task_and_single_class_target_are_refused() -> None:
    data = _benefits_like()
    model = LogisticRegression().fit(data[["age", "rr"]], data.ui)
    with pytest.raises(InvalidInputError, match="unknown task"):
        evaluate_model(model, data, target="ui", task="ranking")
    with pytest.raises(InvalidInputError, match="only one class"):
        evaluate_classification(np.ones(10), np.full(10, 0.7))


def test_mcnemar_exact_and_chi_squared() -> None:
    a = np.array([True] * 10 + [False] * 2)
    b = np.array([False] * 10 + [True] * 2)
    _, p_exact, method, only_a, only_b = mcnemar(a, b)
    assert (method, only_a, only_b) == ("exact", 10, 2)
    assert p_exact == pytest.approx(0.0386, abs=1e-3)
    a = np.array([True] * 40 + [False] * 20)
    _, p_chi, method, _, _ = mcnemar(a, ~a)
    assert method == "chi2-corrected"
    assert p_chi < 0.05


def test_clearly_better_challenger_is_significant() -> None:
    y, p_good = _scores(2000, noise=0.3)
    rng = np.random.default_rng(8)
    p_bad = np.clip(p_good + rng.normal(0, 0.35, len(y)), 0, 1)
    result = compare_models(y, p_bad, p_good, resamples=300)
    assert result.significant
    assert result.mcnemar_p_value is not None
    assert result.mcnemar_p_value < 0.05
    accuracy = next(d for d in result.differences if d.metric == "accuracy")
    assert accuracy.challenger_better is True
    assert "challenger" in result.verdict


def test_identical_models_are_not_significantly_different() -> None:
    y, p = _scores(1000)
    result = compare_models(y, p, p.copy(), resamples=200)
    assert not result.significant
    assert result.verdict == "no significant difference"
