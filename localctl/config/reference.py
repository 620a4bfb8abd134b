"""The configuration reference, generated from the model so it cannot drift from it."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from localctl.config.model import LocalctlConfig


def reference_markdown() -> str:
    """One table per section, in the order the model declares them."""
    lines: list[str] = []
    for path, model in _sections(LocalctlConfig, ""):
        lines += [
            "",
            f"### `{path or 'top level'}`",
            "",
            "| key | default | meaning |",
            "|---|---|---|",
        ]
        for name, field in model.model_fields.items():
            lines.append(f"| `{name}` | {_default(field)} | {_meaning(field)} |")
    return "\n".join(lines[1:]) + "\n"


def _sections(model: type[BaseModel], path: str) -> list[tuple[str, type[BaseModel]]]:
    sections = [(path, model)] if path else []
    for name, field in model.model_fields.items():
        child = _model_in(field.annotation)
        if child is not None:
            sections += _sections(child, f"{path}.{name}" if path else name)
    return sections


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, directly, optionally or as a tuple of them."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple):
        for argument in typing.get_args(annotation):
            found = _model_in(argument)
            if found is not None:
                return found
    return None


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "(section)"
    if field.default is PydanticUndefined:
        return "required"
    if field.default is None:
        return "none"
    if isinstance(field.default, tuple):
        return ", ".join(str(item) for item in field.default) or "none"
    return f"`{field.default}`"


def _meaning(field: FieldInfo) -> str:
    return (field.description or "").replace("|", "\\|").replace("\n", " ")
