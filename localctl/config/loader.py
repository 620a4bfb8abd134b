"""Load a configuration file; errors name the file, the field path and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from localctl.config.model import LocalctlConfig


class ConfigError(Exception):
    """A configuration file is unreadable or invalid; the message says where and why."""


def load_config(path: Path) -> LocalctlConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    try:
        return LocalctlConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(path, root, exc)) from None


def _describe(path: Path, root: yaml.Node | None, exc: ValidationError) -> str:
    lines = [f"{path}: {exc.error_count()} error(s)"]
    for error in exc.errors():
        location = tuple(error["loc"])
        field = ".".join(str(part) for part in location) or "(top level)"
        line = _line_of(root, location)
        where = f" (line {line})" if line else ""
        lines.append(f"  {field}{where}: {error['msg']}")
    return "\n".join(lines)


def _line_of(node: yaml.Node | None, location: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at `location`, or of its nearest existing parent."""
    line = None if node is None else node.start_mark.line + 1
    for part in location:
        child = _child(node, part)
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def _child(node: yaml.Node | None, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                child: yaml.Node = value
                return child
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item: yaml.Node = node.value[part]
        return item
    return None
