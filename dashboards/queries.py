"""PromQL the dashboards share, built from catalogue objects so no query spells a metric name.

Every selector is scoped to the chosen environment (`project_id`) and, when the metric carries a
service label, to the chosen service: `selector` adds both from the catalogue's label list, which
is also what the lint rule `target-required-matchers` checks.
"""

from __future__ import annotations

from observability import catalogue as m

from . import style


def selector(series: str, *matchers: str) -> str:
    """`series{project_id=~"$environment", <service label>=~"$service", matchers...}`."""
    parts = [f'{style.ENVIRONMENT_LABEL}=~"${style.ENVIRONMENT_VARIABLE}"']
    metric = m.metric_of_series(series)
    if metric is not None:
        parts += [_service_matcher(label) for label in style.SERVICE_LABELS if label in metric.labels]
    parts += matchers
    return f"{series}{{{','.join(parts)}}}"


def _service_matcher(label: str) -> str:
    value = style.SERVICE_NAME_MATCH if label == "service_name" else f"${style.SERVICE_VARIABLE}"
    return f'{label}=~"{value}"'


def rate(series: str, *matchers: str) -> str:
    return f"rate({selector(series, *matchers)}[{style.RATE_INTERVAL}])"


def _by(labels: tuple[str, ...]) -> str:
    return f" by ({', '.join(labels)})" if labels else ""


def sum_rate(series: str, *matchers: str, by: tuple[str, ...] = ()) -> str:
    return f"sum{_by(by)} ({rate(series, *matchers)})"


def sum_of(series: str, *matchers: str, by: tuple[str, ...] = ()) -> str:
    """The sum of a gauge."""
    return f"sum{_by(by)} ({selector(series, *matchers)})"


def quantile(q: float, histogram: m.Metric, *matchers: str, by: tuple[str, ...] = ()) -> str:
    return f"histogram_quantile({q}, {sum_rate(histogram.bucket, *matchers, by=('le', *by))})"


def ratio(numerator: str, denominator: str) -> str:
    """`numerator / denominator`, both aggregated; empty (not NaN noise) when nothing happened."""
    return f"({numerator}) / ({denominator} > 0)"


def top(k: int, query: str) -> str:
    return f"topk({k}, {query})"


# --- the API's RED signals ------------------------------------------------------------------------
SERVER_ERRORS = 'code=~"5.."'
CLIENT_ERRORS = 'code=~"4.."'


def api_error_ratio(by: tuple[str, ...] = ()) -> str:
    return ratio(sum_rate(m.HTTP_REQUESTS.name, SERVER_ERRORS, by=by), sum_rate(m.HTTP_REQUESTS.name, by=by))


def api_share_within_latency_target(by: tuple[str, ...] = ()) -> str:
    """Fraction of requests answered within 500 ms: the latency SLI, raw."""
    within = sum_rate(m.HTTP_REQUEST_DURATION.bucket, f'le="{m.LATENCY_SLO_BUCKET}"', by=by)
    return ratio(within, sum_rate(m.HTTP_REQUEST_DURATION.count, by=by))


# --- customer-managed encryption (components/encryption.py) ----------------------------------------
def kms_key_events() -> str:
    """Key versions disabled or scheduled for destruction per interval, by key and method: the
    panel of the Security board beside the KeyVersionDisabledOrDestroyed page."""
    events = selector(m.KMS_KEY_EVENTS.name)
    return f"sum by (crypto_key, method) (increase({events}[{style.RATE_INTERVAL}]))"


def findings_published(topic: str) -> str:
    """Findings published to the stack's findings topic per interval: the Security board's panel
    beside the SecurityFindingsNew ticket (which counts the same series over its own window)."""
    sent = selector(m.PUBSUB_SEND_REQUESTS.name, f'topic_id="{topic}"', 'response_class="success"')
    return f"sum by (topic_id) (increase({sent}[{style.RATE_INTERVAL}]))"
