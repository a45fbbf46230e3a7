-- "When would we have known": the first month each drug–event pair met each signal criterion, on the
-- comments dated up to then (per comment, by generic drug; NULL: never met).
SELECT drug, event, a AS comments, first_month_evans, first_month_ror, first_month_ic, first_month_ebgm
FROM drug_event_signals
WHERE grouping = 'drug' AND unit = 'comment' AND criteria_met > 0
ORDER BY least(first_month_evans, first_month_ror, first_month_ic, first_month_ebgm) NULLS LAST, drug, event;
