"""Experiment tracking: the run handle users log params, metrics, tags and artifacts to, and its buffered writer."""
