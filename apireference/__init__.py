"""The API reference: the Omni API's OpenAPI document (`openapi.yaml`) and the static site that
renders it, with an explorer that calls the API from the browser (docs/portal.md).

No Pulumi here: `components/api_reference.py` uploads what `render` builds.
"""

from .render import (
    SPEC_PATH,
    ApiReferenceError,
    load_spec,
    reference_files,
    render_reference_page,
    with_server,
)

__all__ = ["SPEC_PATH", "ApiReferenceError", "load_spec", "reference_files", "render_reference_page", "with_server"]
