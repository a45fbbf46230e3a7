"""Entity extraction for patient writing about pain and its treatment (spaCy, no model needed).

Importing this package registers the pipeline's spaCy factories and extension attributes, so
``spacy.load`` reads a pipeline saved by ``nlp.to_disk`` (``fms-pipeline export-nlp``).
"""

from fms_pipeline.nlp.pipeline import LABELS, load_nlp, load_saved_nlp, shared_nlp

__all__ = ["LABELS", "load_nlp", "load_saved_nlp", "shared_nlp"]
