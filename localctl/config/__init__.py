"""localctl's configuration: one strict pydantic model, loaded from YAML."""

from localctl.config.loader import ConfigError, load_config
from localctl.config.model import LocalctlConfig, RelayConfig

__all__ = ["ConfigError", "LocalctlConfig", "RelayConfig", "load_config"]
