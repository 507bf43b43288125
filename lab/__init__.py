"""Local labs: real Prometheus, Alertmanager and friends on 127.0.0.1, driven by faults."""
