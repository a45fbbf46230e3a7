"""From counts to evidence: drug–event disproportionality and breaks in monthly rates.

Plain statistics, no Dagster and no warehouse:

``disproportionality``  PRR (95% CI, Yates χ²), ROR (95% CI), IC/IC025 and EBGM/EB05 (vigipy's GPS)
                        of drug–event 2×2 tables, and the signal criteria;
``trends``              change points in a monthly rate (ruptures, PELT) and interrupted-time-series
                        estimates at policy dates (statsmodels), with the policy dates in
                        ``policy_dates.csv``;
``build``               the warehouse's Python views: reads the 2×2 counts and monthly series that
                        DuckDB SQL (``sql/``) computes and registers the statistics the aggregate
                        SQL files read (``python_views`` in their declarations);
``evaluation``          the AUC of IC025 over a reference set of label adverse reactions and negative
                        controls (``reference/``) on the DrugLib reviews.
"""
