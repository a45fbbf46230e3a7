"""Importing this module builds the shared pipeline.

NLP worker processes are forked from a fork server that preloads this module, so the pipeline
(seconds to build, ~300 MB) is built once and shared by every worker.
"""

from fms_pipeline.nlp import shared_nlp

shared_nlp()
