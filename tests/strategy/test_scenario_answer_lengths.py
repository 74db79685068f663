"""Scenario assessment: the length of a choice's text gives no hint of the best answer.

A learner who cannot judge a scenario should not be able to score by picking the longest (or the shortest)
text; nor should a reviewer's eye be drawn to the best answer because it is the only detailed one. The bank
is checked the way the position balance is: against what chance alone allows, with the threshold computed
here, and a control shows the check catches a biased bank.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from scipy.stats import binom, chisquare

from triops.strategy.scenarios import ScenarioBank, load_bank, parse_bank

BANK = load_bank()
ALPHA = 0.05  # one-sided: only "better than chance" is a problem for the bank

Pick = Callable[[Sequence[int]], list[int]]


def _longest(lengths: Sequence[int]) -> list[int]:
    return [i for i, n in enumerate(lengths) if n == max(lengths)]


def _shortest(lengths: Sequence[int]) -> list[int]:
    return [i for i, n in enumerate(lengths) if n == min(lengths)]


def strategy_outcome(bank: ScenarioBank, pick: Pick, value: Callable[[int, int], float]) -> float:
    """What "always pick the longest/shortest text" earns over the bank, summed over scenarios.

    Equally long texts are a tie the learner breaks at random, so a tie earns the mean over the tied choices.
    ``value(score, best_score)`` is 1/0 for "found the best choice", or the points a choice gives.
    """
    total = 0.0
    for s in bank.scenarios:
        picked = pick([len(c.text) for c in s.choices])
        total += sum(value(s.choices[i].score, s.best_score) for i in picked) / len(picked)
    return total


def chance_threshold(bank: ScenarioBank, value: Callable[[int, int], float]) -> float:
    """Smallest total that a learner picking at random exceeds with probability at most ALPHA.

    The chance total is a sum of independent scenarios, each a uniform pick among its k choices. For best-
    choice hits with k = 3 everywhere this is Binomial(n, 1/3): with n = 36 the mean is 12, 17 or more hits
    happen by chance with p = 0.058 and 18 or more with p = 0.028, so the returned limit is 17 and a length
    strategy that finds the best choice 18 times or more beats chance at one-sided alpha = 0.05. The exact
    distribution is built by convolution, so banks with mixed k (and points rather than hits) work too.
    """
    dist: dict[float, float] = {0.0: 1.0}
    for s in bank.scenarios:
        step: dict[float, float] = {}
        for total, p in dist.items():
            for c in s.choices:
                key = round(total + value(c.score, s.best_score), 9)
                step[key] = step.get(key, 0.0) + p / len(s.choices)
        dist = step
    tail = 0.0
    for total in sorted(dist, reverse=True):  # walk down from the top until the tail exceeds ALPHA
        if tail + dist[total] > ALPHA:
            return total + 1e-9  # exceeding this total has probability <= ALPHA; a tiny margin for floats
        tail += dist[total]
    return min(dist)


def _hit(score: int, best: int) -> float:
    return float(score == best)


def _points(score: int, best: int) -> float:
    return float(score)


def length_rank_bias_p(bank: ScenarioBank) -> float:
    """Chi-squared p-value of the best choice's length rank (0 = longest) against no preference.

    Two-sided in effect: a bank whose best answer is never the shortest also leaks (a learner drops the
    shortest and doubles their odds), which the one-sided strategy checks would not see.
    """
    ranks = [
        sorted((len(c.text) for c in s.choices), reverse=True).index(len(s.choices[s.best_index].text))
        for s in bank.scenarios
    ]
    observed = Counter(ranks)
    positions = max(len(s.choices) for s in bank.scenarios)
    expected = [
        sum(1 / len(s.choices) for s in bank.scenarios if i < len(s.choices)) for i in range(positions)
    ]
    return float(chisquare([observed[i] for i in range(positions)], expected).pvalue)


def length_leaks(bank: ScenarioBank) -> list[str]:
    """Every way answer length gives the best choice away; empty for a sound bank."""
    leaks = []
    for name, pick in (("longest", _longest), ("shortest", _shortest)):
        for what, value in (("best-choice hits", _hit), ("points", _points)):
            got, limit = strategy_outcome(bank, pick, value), chance_threshold(bank, value)
            if got >= limit:
                leaks.append(
                    f"always picking the {name} text: {got:.1f} {what}, chance allows at most {limit:.1f}"
                )
    if (p := length_rank_bias_p(bank)) < ALPHA:
        leaks.append(f"the best choice's length rank is biased (chi-squared p = {p:.4f})")
    return leaks


def test_answer_length_gives_no_hint_of_the_best_choice() -> None:
    assert length_leaks(BANK) == []


def test_best_answer_is_the_longest_no_more_often_than_chance() -> None:
    n, limit = len(BANK.scenarios), chance_threshold(BANK, _hit)
    assert strategy_outcome(BANK, _longest, _hit) < limit
    assert strategy_outcome(BANK, _shortest, _hit) < limit
    if len(ks := {len(s.choices) for s in BANK.scenarios}) == 1:  # then chance is Binomial(n, 1/k)
        assert math.isclose(limit, binom.isf(ALPHA, n, 1 / ks.pop()), abs_tol=1e-6)


def _bank(best_text: str, other_texts: tuple[str, str], n: int = 36) -> ScenarioBank:
    base: dict[str, Any] = {
        "pillar": "finops",
        "levels": ["novice"],
        "title": "t",
        "situation": "s",
        "read_next": "docs/finops.md",
        "choices": [
            {"text": other_texts[0], "score": 0, "explanation": "bad"},
            {"text": best_text, "score": 3, "explanation": "good"},
            {"text": other_texts[1], "score": 1, "explanation": "weak"},
        ],
    }
    scenarios = []
    for i in range(n):
        s = copy.deepcopy(base)
        s["id"] = f"s{i}"
        s["choices"] = s["choices"][i % 3 :] + s["choices"][: i % 3]  # positions balanced: only length leaks
        scenarios.append(s)
    return parse_bank({"scenarios": scenarios})


def test_the_length_check_catches_a_bank_whose_best_answer_is_longest() -> None:
    leaks = length_leaks(_bank("the detailed, careful and complete answer", ("short", "brief")))
    assert any("longest text" in leak and "hits" in leak for leak in leaks), leaks
    assert any("length rank" in leak for leak in leaks), leaks


def test_the_length_check_catches_a_bank_whose_best_answer_is_shortest() -> None:
    leaks = length_leaks(_bank("do it", ("a long and confident wrong answer", "another long weak answer")))
    assert any("shortest text" in leak for leak in leaks), leaks


def test_the_length_check_catches_a_bank_whose_best_answer_is_never_shortest() -> None:
    doc = [
        ("best answer, middle", ("a much longer and wrong answer", "short")),
        ("best answer, the longest", ("a middling answer", "short")),
    ]
    banks = [_bank(best, others, 18) for best, others in doc]
    both = ScenarioBank(
        banks[0].scenarios
        + tuple(s.model_copy(update={"id": f"t{i}"}) for i, s in enumerate(banks[1].scenarios)),
        {},
    )
    assert length_rank_bias_p(both) < ALPHA


def test_equally_long_choices_split_the_credit() -> None:
    bank = _bank("same", ("size", "four"), 3)
    assert strategy_outcome(bank, _longest, _hit) == strategy_outcome(bank, _shortest, _hit) == 1.0
