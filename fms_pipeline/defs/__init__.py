"""The Dagster layer: it only wires the plain modules (parsing, nlp, staging, warehouse) together."""

import warnings

import dagster as dg

# Single-run backfill policies are marked beta; they are what makes a backfill of many files one run.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
