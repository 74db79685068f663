"""The model registry: versions, aliases and stages, input signatures, safe model files and model cards."""
