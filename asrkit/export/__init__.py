"""Model export for deployment outside PyTorch (``asrkit export``)."""

from asrkit.export.onnx import export_onnx

__all__ = ["export_onnx"]
