"""Prometheus alert rules and Alertmanager routing as code: filled by the alerting issue."""
