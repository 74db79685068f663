"""Serving: predictors loaded from safe model files (ONNX or skops), the prediction log and its batched
writer, hot swap on alias moves, and the metering of predictions."""
