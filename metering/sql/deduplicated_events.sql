-- Every usage event exactly once. The BigQuery subscription delivers at least once, so a
-- redelivered or republished event (same event_id) can land in the events table more than once;
-- the copy Pub/Sub received first is kept.
-- The only template parameter is the usage dataset's id, in the FROM clause below.
SELECT
  event_id,
  tenant_id,
  api_key_id,
  plan,
  route,
  method,
  unit_kind,
  units,
  occurred_at,
  received_at,
  request_id,
  schema_version,
  publish_time
FROM (
  SELECT
    *,
    ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY publish_time, message_id) AS copy_number
  FROM `{dataset}.events`
  -- The events table refuses queries without a partition filter: this view reads every retained
  -- partition (partition expiration bounds them), since a duplicate may sit in any of them.
  WHERE occurred_at >= TIMESTAMP '1970-01-01 00:00:00+00'
)
WHERE copy_number = 1
