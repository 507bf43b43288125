"""Grafana dashboards as code (grafanalib): filled by the dashboards issue."""
