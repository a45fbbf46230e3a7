-- Access loss month by month (UTC): comments reporting a loss per 1,000 comments of the month, all
-- mechanisms together and per mechanism (access_loss_by_month).
SELECT month,
       any_value(access_loss_comments) AS comments,
       any_value(access_loss_rate_per_1000_comments) AS rate_per_1000_comments,
       string_agg(DISTINCT mechanism || ' ' || mechanism_rate_per_1000_comments, ', ') AS rate_by_mechanism
FROM access_loss_by_month
GROUP BY month
ORDER BY month;
