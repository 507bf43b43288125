"""How the uptime checks are read: shared by the `UptimeCheckFailing` alert and the status page."""

# Checker locations failing at once that make an outage: one location failing alone is usually
# that location's network.
UPTIME_FAILING_LOCATIONS = 2
