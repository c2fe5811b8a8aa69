"""Speech encoders. ``sanm``: Paraformer's SANM encoder (config-driven, FunASR/MooER key names)."""

from asrkit.encoder.checkpoint import encoder_state_dict, load_encoder_weights
from asrkit.encoder.config import SANMConfig
from asrkit.encoder.sanm import SANMEncoder

__all__ = ["SANMConfig", "SANMEncoder", "load_encoder_weights", "encoder_state_dict"]
