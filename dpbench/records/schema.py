"""Versioning and validation shared by every record type: a record is a dataclass whose fields without
a default are required; `parse` checks a mapping read from a file against its type hints."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar, Union

from dpbench.errors import DpbenchError

VERSION_KEY = "schema_version"  # in every record file; absent: written before versions, read as 1
UNVERSIONED = 1

Record = TypeVar("Record")


def check_version(data: Mapping[str, Any], where: str, current: int, rewrite: str) -> int:
    """The version `data` declares (UNVERSIONED when it declares none); a version newer than `current`
    is refused: this dpbench cannot know its fields. `rewrite`: the command that writes the file again."""
    _check_object(data, where, rewrite)
    version = data.get(VERSION_KEY, UNVERSIONED)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise DpbenchError(
            f"{where}: {VERSION_KEY} {version!r} is not a version number (1, 2, ...); "
            f"fix the file or {rewrite} to write it again"
        )
    if version > current:
        raise DpbenchError(
            f"{where}: written with {VERSION_KEY} {version}, newer than this dpbench reads "
            f"(up to {current}); upgrade dpbench, or {rewrite} with this one"
        )
    return version


def parse(cls: type[Record], data: Any, where: str, rewrite: str) -> Record:
    """An instance of the dataclass `cls` from `data` (keys it does not define are ignored), after checking
    that every required field is there and every field has its declared type."""
    _check_object(data, where, rewrite)
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    missing = []
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                missing.append(field.name)
            continue
        value = data[field.name]
        if not matches(value, hints[field.name]):
            raise DpbenchError(
                f"{where}: field {field.name!r} is {value!r}, expected {type_name(hints[field.name])}; "
                f"fix the file or {rewrite}"
            )
        values[field.name] = value
    if missing:
        raise DpbenchError(f"{where}: missing {missing}; {rewrite}")
    return cls(**values)


def _check_object(data: Any, where: str, rewrite: str) -> None:
    if not isinstance(data, Mapping):
        raise DpbenchError(f"{where}: expected a JSON object, found {type(data).__name__}; {rewrite}")


def to_json(record: Any, version: int) -> dict[str, Any]:
    """A record as the JSON object its files hold: its fields, then its version."""
    return {**{field.name: getattr(record, field.name) for field in dataclasses.fields(record)}, VERSION_KEY: version}


def required_fields(cls: type) -> tuple[str, ...]:
    return tuple(
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )


def matches(value: Any, hint: Any) -> bool:
    """True when `value` (as JSON gives it) has the type `hint`: int, float (an int is one, a bool is
    neither), str, bool, None, Any, unions, dict[K, V], list[T] and tuple[T, ...]."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(matches(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if hint is dict or origin is dict:
        return isinstance(value, dict) and (
            not args or all(matches(k, args[0]) and matches(v, args[1]) for k, v in value.items())
        )
    if hint is list or origin in (list, tuple):
        return isinstance(value, (list, tuple)) and (not args or all(matches(v, args[0]) for v in value))
    raise TypeError(f"record field type {hint!r} is not supported by dpbench.records.schema")


def type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
