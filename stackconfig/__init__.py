"""Typed, validated stack configuration shared by `pulumi up` and the offline engine."""

from .errors import Problem, StackConfigError
from .loader import load_from_runtime, load_stack_config
from .model import NetworkConfig, StackConfig

__all__ = ["NetworkConfig", "Problem", "StackConfig", "StackConfigError", "load_from_runtime", "load_stack_config"]
