-- Drug–event signals: pairs reported in the same comment more often than the other drugs' reports
-- would lead one to expect, strongest first (IC025, the lower end of the information component's
-- 95% credibility interval). Per comment; change unit to 'author' to count each person once, and
-- grouping to 'drug_class' for classes. A signal is a question to look into, not proof of harm.
SELECT drug, event, event_code, a AS comments,
       round(prr, 2) AS prr, round(prr_lower, 2) AS prr_lower, round(prr_upper, 2) AS prr_upper,
       round(ror, 2) AS ror, round(ror_lower, 2) AS ror_lower, round(ror_upper, 2) AS ror_upper,
       round(ic025, 2) AS ic025, round(eb05, 2) AS eb05,
       signal_evans, signal_ror, signal_ic, signal_ebgm
FROM drug_event_signals
WHERE grouping = 'drug' AND unit = 'comment' AND criteria_met > 0
ORDER BY ic025 DESC, a DESC, drug, event;
