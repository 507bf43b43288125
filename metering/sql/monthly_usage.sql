-- Units per tenant, calendar month (UTC), plan and unit kind, from the deduplicated events:
-- what the invoicing job bills. An event belongs to the month it occurred in, however late it
-- arrived; `last_published_at` shows when the month's last event reached Pub/Sub.
SELECT
  tenant_id,
  DATE_TRUNC(DATE(occurred_at), MONTH) AS usage_month,
  plan,
  unit_kind,
  SUM(units) AS units,
  COUNT(*) AS events,
  MAX(publish_time) AS last_published_at
FROM `{dataset}.deduplicated_events`
GROUP BY tenant_id, usage_month, plan, unit_kind
