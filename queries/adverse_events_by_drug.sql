-- Which adverse events patients report for each drug, out of how many reports name the drug, with the
-- share's Wilson 95% interval (the table drug_event_shares). Narrow intervals first: the drugs most written about.
SELECT drug, event, reports, naming_drug, share, share_lower, share_upper
FROM drug_event_shares
WHERE reports >= 3
ORDER BY naming_drug DESC, reports DESC, event;
