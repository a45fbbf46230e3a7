"""Entity extraction for patient writing about pain and its treatment (spaCy, no model needed).

The pipeline's modules load on first use (``from fms_pipeline.nlp import load_nlp``), so the
plain reference modules in this package (``drug_lexicon``, ``icd10``, ``places``) can be imported
by the warehouse and the share copy without importing spaCy. ``spacy.load`` of a saved pipeline
(``fms-pipeline export-nlp``) finds the factories through the package's ``spacy_factories`` entry
points.
"""

from __future__ import annotations

__all__ = ["LABELS", "load_nlp", "load_saved_nlp", "shared_nlp"]


def __getattr__(name: str):
    if name in __all__:
        from fms_pipeline.nlp import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
