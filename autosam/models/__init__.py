"""Trainable parts of AutoSAM: g (prompt generator), h (surrogate decoder), and their sum."""
from .autosam import AutoSAM
from .backbones import SAM_EMBED, build_backbone, list_backbones, paper_param_count
from .profile import GProfile, count_macs, profile_g
from .prompt_generator import PromptGenerator, SamEmbedG, build_g
from .surrogate_decoder import SurrogateDecoder

__all__ = [
    "AutoSAM", "GProfile", "PromptGenerator", "SAM_EMBED", "SamEmbedG", "SurrogateDecoder",
    "build_backbone", "build_g", "count_macs", "list_backbones", "paper_param_count", "profile_g",
]
