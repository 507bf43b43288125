-- Invoiced units against metered units, line by line, for every month the invoicing job has
-- billed. `status` is `match` only when both agree to the unit; any other row is a mismatch:
-- usage that arrived after the invoice (`under_invoiced`, `not_invoiced`), or an invoice line
-- without the usage behind it (`over_invoiced`, `invoiced_without_usage`).
WITH invoiced AS (
  SELECT tenant_id, usage_month, plan, unit_kind, SUM(units) AS invoiced_units
  FROM `{dataset}.invoices`
  GROUP BY tenant_id, usage_month, plan, unit_kind
),
metered AS (
  SELECT tenant_id, usage_month, plan, unit_kind, units AS metered_units
  FROM `{dataset}.monthly_usage`
  WHERE usage_month IN (SELECT DISTINCT usage_month FROM invoiced)
)
SELECT
  COALESCE(metered.tenant_id, invoiced.tenant_id) AS tenant_id,
  COALESCE(metered.usage_month, invoiced.usage_month) AS usage_month,
  COALESCE(metered.plan, invoiced.plan) AS plan,
  COALESCE(metered.unit_kind, invoiced.unit_kind) AS unit_kind,
  COALESCE(metered.metered_units, 0) AS metered_units,
  COALESCE(invoiced.invoiced_units, 0) AS invoiced_units,
  COALESCE(invoiced.invoiced_units, 0) - COALESCE(metered.metered_units, 0) AS difference,
  CASE
    WHEN COALESCE(invoiced.invoiced_units, 0) = COALESCE(metered.metered_units, 0) THEN 'match'
    WHEN invoiced.tenant_id IS NULL THEN 'not_invoiced'
    WHEN metered.tenant_id IS NULL THEN 'invoiced_without_usage'
    WHEN invoiced.invoiced_units < metered.metered_units THEN 'under_invoiced'
    ELSE 'over_invoiced'
  END AS status
FROM metered
FULL OUTER JOIN invoiced
  ON metered.tenant_id = invoiced.tenant_id
  AND metered.usage_month = invoiced.usage_month
  AND metered.plan = invoiced.plan
  AND metered.unit_kind = invoiced.unit_kind
