"""Prometheus alert rules and Alertmanager routing as code (docs/alerting.md).

slo.py (SLO objects) -> burnrate.py (recording rules, burn-rate alerts); symptoms.py (fast API
error and latency pages); resources.py (resource alerts); rules.py (every group); validate.py (the lint);
unittests.py (promtool tests from each alert's scenario); alertmanager.py (routing, inhibition); render.py (files);
tools.py (promtool and amtool).
"""
