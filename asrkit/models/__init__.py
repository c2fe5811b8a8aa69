"""Models: ``ctc`` (SANM encoder + CTC head). ``load_model`` resolves a folder or a bundled name."""

from asrkit.models.ctc import CTCModel, CTCModelConfig
from asrkit.models.registry import bundled_models, load_model, resolve_model_dir

__all__ = ["CTCModel", "CTCModelConfig", "load_model", "resolve_model_dir", "bundled_models"]
