"""Model evaluation: metrics with bootstrap intervals, fairness by group, paired champion/challenger tests."""
