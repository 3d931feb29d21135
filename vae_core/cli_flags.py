"""Command-line flags generated from the config dataclasses.

Why: a default typed twice drifts. Every field of :class:`~vae_core.config.ModelConfig`,
:class:`~vae_core.config.TrainConfig` and :class:`~vae_core.config.DataSpec` that declares a help text is a
flag, with the field's default, type and choices, and its name: ``--field-name``, or the shorter ``flag`` the
field declares (``--minutes`` for ``max_minutes``). The CLI and the benchmarks build their parsers here and
turn parsed flags back into configs with :func:`config_kwargs`, so neither restates a default.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Iterable
from typing import Any, Literal, Protocol


class ArgumentContainer(Protocol):
    """An argparse parser or argument group."""

    def add_argument(self, *names: str, **kwargs: Any) -> argparse.Action: ...


def flag_name(field: dataclasses.Field) -> str:
    """The option a field is set with: its declared ``flag``, else ``--`` + the field's name with dashes."""
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


def dest(field: dataclasses.Field) -> str:
    """The attribute of the parsed namespace that holds the field (the flag's name with underscores)."""
    return flag_name(field)[2:].replace("-", "_")


def flag_fields(cls: type, names: Iterable[str] | None = None) -> list[dataclasses.Field]:
    """The fields of ``cls`` that are flags (they declare a help text), optionally only those in ``names``."""
    wanted = None if names is None else set(names)
    fields = [f for f in dataclasses.fields(cls) if "help" in f.metadata and (wanted is None or f.name in wanted)]
    missing = (wanted or set()) - {f.name for f in fields}
    if missing:
        raise ValueError(f"{cls.__name__} has no flag fields {sorted(missing)}")
    return fields


def _comma_separated(item: type) -> Any:
    def parse(text: str) -> tuple[Any, ...]:
        try:
            return tuple(item(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {item.__name__} values, got {text!r}") from None

    return parse


def _argparse_kwargs(field: dataclasses.Field, hint: Any) -> dict[str, Any]:
    """type/choices/action for a field's annotation: bool, int, float, str, Literal, X | None, tuple[T, ...]."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):  # X | None: the flag takes an X
        hint = next(a for a in args if a is not type(None))
        args = typing.get_args(hint)
    if hint is bool:
        return {"action": argparse.BooleanOptionalAction}
    if typing.get_origin(hint) is Literal:
        return {"type": type(args[0]), "choices": list(args)}
    if typing.get_origin(hint) is tuple:
        return {"type": _comma_separated(args[0])}
    kwargs: dict[str, Any] = {"type": hint}
    if "choices" in field.metadata:
        kwargs["choices"] = list(field.metadata["choices"])
    return kwargs


def add_config_flags(group: ArgumentContainer, cls: type, names: Iterable[str] | None = None) -> None:
    """Add a flag for each of ``cls``'s flag fields (or those in ``names``) to a parser or argument group."""
    hints = typing.get_type_hints(cls)
    for f in flag_fields(cls, names):
        kwargs = _argparse_kwargs(f, hints[f.name])
        if "rest_to" in f.metadata:  # repeatable: the parsed value is a list (None when not given)
            kwargs["action"] = "append"
        group.add_argument(flag_name(f), dest=dest(f), default=f.default, help=f.metadata["help"], **kwargs)


def config_kwargs(args: argparse.Namespace, cls: type, names: Iterable[str] | None = None) -> dict[str, Any]:
    """The keyword arguments of ``cls`` that the parsed flags hold (those :func:`add_config_flags` added).

    A repeated flag (``rest_to``) gives its first value to its own field and the others to the field it names."""
    out: dict[str, Any] = {}
    for f in flag_fields(cls, names):
        if not hasattr(args, dest(f)):
            continue
        value = getattr(args, dest(f))
        if "rest_to" in f.metadata and isinstance(value, list):
            value, out[f.metadata["rest_to"]] = value[0], tuple(value[1:])
        out[f.name] = value
    return out
