"""The base of every config section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ConfigModel(BaseModel):
    """Base of every config section: camelCase keys, unknown keys refused, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        # Pulumi hands the program every plain value as a string; numbers written
        # without quotes must still reach a text field as text.
        coerce_numbers_to_str=True,
    )
