"""Training facegate's own small models (needs the `train` extra: torch, onnx)."""
