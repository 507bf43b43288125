"""The Omni API's Locust load-test suite, its headless runner and its Kubernetes deployment.

The suite itself (`config`, `shapes`, `thresholds`, `locustfile`) needs only Locust and the
standard library: the same files run locally (`omni loadtest run`) and, mounted from a
ConfigMap, in the Locust master and workers on Kubernetes (`loadtest/infra/locust_cluster.py`).
"""

# The files the Kubernetes ConfigMap carries, mounted as this package in the Locust image.
SUITE_FILES = ("__init__.py", "config.py", "shape_plans.py", "shapes.py", "thresholds.py", "locustfile.py")
