"""Importing this module loads (or builds and saves) the shared pipeline.

NLP worker processes are forked from a fork server that preloads this module, so the pipeline
(~300 MB; loaded from the saved copy in the cache folder in about a second, built in several)
is made once and shared by every worker.
"""

from fms_pipeline.nlp import shared_nlp

shared_nlp()
