"""The public status page: a static site rendered from measurements and reviewed notices.

`model` (components, states), `notices` (incident and maintenance files), `sources` (demo,
Prometheus, Cloud Monitoring), `report` (the one object every output reads), `render` and
`badges` (the files), `build` (the CLI's entry) and `publish` (the Cloud Run job's).
"""
