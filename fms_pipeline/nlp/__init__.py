"""Entity extraction for patient writing about pain and its treatment (spaCy, no model needed)."""

from fms_pipeline.nlp.pipeline import LABELS, load_nlp, shared_nlp

__all__ = ["LABELS", "load_nlp", "shared_nlp"]
