"""What dashboards and alert rules share: the metric catalogue and the PromQL parser's checks."""
