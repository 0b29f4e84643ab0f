"""Typed partial output: the JSON so far as an instance of a pydantic model, as it streams.

:func:`partial_model` derives, from a model, the documented partial type: the same fields,
each optional with ``None`` until it arrives (nested models, lists and dicts of them become
their own partial types). :class:`PartialBuilder` turns each partial JSON value of
:class:`~steer_common.json_stream.JSONStream` into an instance of it:

- every value that arrived is validated against its field's type (and the field's
  constraints); a value that does not validate yet (a string cut short of a ``Literal``, a
  number's prefix) is left out until it does, so every instance handed out is valid;
- closed containers are shared between successive partial values (see
  ``JSONStream.partial``), so the builder reuses what it built from them the last time and
  only walks the containers still open: the cost of a partial after every fragment stays
  linear in the reply's length, as the JSON machine's does.

pydantic's own partial mode (``experimental_allow_partial``, pydantic 2.10+) forgives an
incomplete last item of a list or dict, but still requires a model's required fields, so it
cannot hand out a model whose fields have not arrived; it is used where the builder does not
walk (a union of several types). Field and model validators run on the final value only,
which :meth:`~steer_common.models.response.StreamResponse.get_json` validates against the
model itself.
"""

from __future__ import annotations

import collections.abc
import operator
import types
from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any, Optional, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from steer_common.errors import ConfigurationError

__all__ = ["PartialBuilder", "output_model", "partial_model"]

_SEQUENCES = (list, tuple, set, frozenset)
_LISTS = (list, collections.abc.Sequence, collections.abc.MutableSequence)
_DICTS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def _subscript(form: Any, parameters: tuple[Any, ...]) -> Any:
    """``form[parameters]`` for a type built at run time (``Annotated``, ``Union``, ``list``)."""
    return operator.getitem(form, parameters)


@cache
def partial_model(model: type[BaseModel]) -> type[BaseModel]:
    """The partial type of ``model``: ``Partial<Name>``, every field optional (``None``
    until it arrives), nested models, lists and dicts of them partial too.

    ``model_fields_set`` of an instance says which fields have arrived. A model that
    refers to itself keeps its own (complete) type where it recurs.
    """
    _building.add(model)
    try:
        fields: dict[str, Any] = {}
        for name, info in model.model_fields.items():
            annotation = _partial_type(info.annotation)
            fields[name] = (
                Optional[annotation],  # noqa: UP045 - a runtime type expression
                Field(default=None, alias=info.alias, validation_alias=info.validation_alias),
            )
        config = ConfigDict(
            populate_by_name=bool(model.model_config.get("populate_by_name")), extra="ignore"
        )
        partial: type[BaseModel] = create_model(
            f"Partial{model.__name__}",
            __config__=config,
            __doc__=f"{model.__name__} as far as it has arrived (steer_common.partial).",
            __module__=model.__module__,
            **fields,
        )
    finally:
        _building.discard(model)
    return partial


_building: set[type[BaseModel]] = set()


def output_model(response_format: Any) -> type[BaseModel]:
    """``response_format`` for ``stream_output()``: it must be a pydantic model class.

    Raises:
        ConfigurationError: it is not one.
    """
    if isinstance(response_format, type) and issubclass(response_format, BaseModel):
        return response_format
    raise ConfigurationError(
        "stream_output() needs response_format=<a pydantic model class>, "
        f"not {response_format!r} (stream_events() yields json_partial values for any JSON)"
    )


def _partial_type(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation if annotation in _building else partial_model(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if not args:
        return annotation
    if origin is Annotated:
        return _subscript(Annotated, (_partial_type(args[0]), *annotation.__metadata__))
    if origin in (Union, types.UnionType):
        return _subscript(Union, tuple(_partial_type(a) for a in args))
    if origin in _SEQUENCES or origin in _LISTS or origin in _DICTS:
        return _subscript(origin, tuple(a if a is Ellipsis else _partial_type(a) for a in args))
    return annotation


class _Drop(Exception):
    """A value that does not validate (yet): left out of the partial instance."""


@cache
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


class PartialBuilder:
    """Partial instances of one model from successive partial JSON values.

    Args:
        model: the pydantic model the reply (or a tool call's arguments) follows.
    """

    __slots__ = ("_last", "_seen", "model", "partial")

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        #: The partial type handed out (:func:`partial_model`).
        self.partial = partial_model(model)
        # What each container met in the last build became: a closed container is the
        # same object in the next partial value, so its result is reused.
        self._last: dict[int, tuple[Any, Any]] = {}
        self._seen: dict[int, tuple[Any, Any]] = {}

    def build(self, value: Any) -> BaseModel | None:
        """The partial instance for ``value`` (``None``: nothing of it validates yet)."""
        self._seen = {}
        try:
            return self._build(self.partial, value)  # type: ignore[no-any-return]
        except _Drop:
            return None
        finally:
            self._last = self._seen

    def final(self, value: Any) -> BaseModel:
        """The complete value, validated by the model itself.

        Raises:
            pydantic.ValidationError: it does not follow the model.
        """
        return self.model.model_validate(value)

    def _build(self, annotation: Any, value: Any) -> Any:
        if type(value) in (dict, list):
            key = id(value)
            last = self._last.get(key)
            if last is not None and last[0] is value:
                self._seen[key] = last
                if last[1] is _DROPPED:
                    raise _Drop
                return last[1]
            try:
                result = self._container(annotation, value)
            except _Drop:
                self._seen[key] = (value, _DROPPED)
                raise
            self._seen[key] = (value, result)
            return result
        return self._validate(annotation, value)

    def _container(self, annotation: Any, value: Any) -> Any:
        metadata: tuple[Any, ...] = ()
        if get_origin(annotation) is Annotated:
            metadata = annotation.__metadata__
            annotation = get_args(annotation)[0]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if type(value) is not dict:
                raise _Drop
            return self._model(annotation, value)
        origin, args = get_origin(annotation), get_args(annotation)
        if origin in (Union, types.UnionType):
            present = [a for a in args if a is not type(None)]
            if len(present) == 1:  # Optional[X]: X
                return self._container(present[0], value)
        elif not metadata and type(value) is list and origin in _LISTS and args:
            return list(self._items(args[0], value))
        elif not metadata and type(value) is dict and origin in _DICTS and args:
            out = {}
            for k, v in value.items():
                try:
                    out[self._validate(args[0], k)] = self._build(args[1], v)
                except _Drop:  # noqa: PERF203 - a value that does not validate is left out
                    continue
            return out
        # Anything else (a union of models, a tuple, constraints on a container): pydantic's
        # partial mode on the whole value.
        target = _subscript(Annotated, (annotation, *metadata)) if metadata else annotation
        try:
            return _adapter(target).validate_python(value, experimental_allow_partial=True)
        except ValidationError:
            raise _Drop from None

    def _items(self, annotation: Any, values: list[Any]) -> Any:
        for item in values:
            try:
                yield self._build(annotation, item)
            except _Drop:  # noqa: PERF203 - an item that does not validate (yet) is left out
                continue

    def _model(self, model: type[BaseModel], value: Mapping[str, Any]) -> BaseModel:
        fields: dict[str, Any] = {}
        for name, info in model.model_fields.items():
            key = info.alias or name
            if key not in value:
                if name == key or name not in value:
                    continue
                key = name
            annotation: Any = info.annotation
            if info.metadata:
                annotation = _subscript(Annotated, (annotation, *info.metadata))
            try:
                fields[name] = self._build(annotation, value[key])
            except _Drop:
                continue
        return model.model_construct(_fields_set=set(fields), **fields)

    def _validate(self, annotation: Any, value: Any) -> Any:
        try:
            return _adapter(annotation).validate_python(value)
        except ValidationError:
            raise _Drop from None


_DROPPED = object()
