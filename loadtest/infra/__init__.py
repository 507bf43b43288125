"""The omni-loadtest Pulumi project (`__main__.py`) and its own components: the GKE Autopilot
cluster and the Locust master and workers on Kubernetes."""
