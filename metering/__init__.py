"""The usage pipeline's reviewed files: the event schema, the BigQuery table schemas and the
views' SQL, each read and checked here before any resource is declared.

- `schema/usage_event.avsc`: the Avro schema of a usage event (the Pub/Sub topic's schema);
- `schema/usage_events.bq.json`: the events table (the Avro fields plus Pub/Sub's metadata
  columns), `schema/invoices.bq.json`: the table the invoicing job writes;
- `sql/*.sql`: the views, in BigQuery's dialect (GoogleSQL), templated with the dataset id only.
"""
