"""Charts and the offline HTML report, built from the warehouse (read-only)."""
