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
  linear in the reply's length, as the JSON machine's does;
- a small model whose fields nest no deeper than a list of scalars or a model of scalars
  (the record still arriving, typically) is handed to the partial type's own validator,
  in C, and walked only if a field does not validate yet.

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
from functools import cache
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin

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
            if info.metadata:  # the field's constraints hold for what has arrived
                annotation = _subscript(Annotated, (annotation, *info.metadata))
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


# JSON's own scalars, taken as they are by the pydantic types of the same name (an int
# for a float is made a float, as pydantic's lax mode does).
_AS_IS: dict[Any, tuple[type, ...]] = {str: (str,), int: (int,), bool: (bool,), float: (float,)}


class _Plan:
    """How to build one annotation's partial value, worked out once (see :func:`_plan`).

    ``kind``: ``"model"`` (``model``, ``fields`` as ``(name, key, other key, plan)``,
    ``template`` its ``__dict__`` before any field arrived),
    ``"list"`` (``item``), ``"dict"`` (``key``, ``item``), ``"scalar"`` (``types`` taken as
    they are, ``none`` allowed, else ``adapter``), ``"whole"`` (``adapter``'s partial mode).
    """

    __slots__ = (
        "adapter",
        "check",
        "fields",
        "item",
        "key",
        "kind",
        "leaf",
        "model",
        "none",
        "shallow",
        "template",
        "types",
        "validate",
    )

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.model: Any = None
        self.fields: list[tuple[str, str, str | None, _Plan]] = []
        self.template: dict[str, None] = {}  # a model's fields, all None
        self.item: _Plan | None = None
        self.key: _Plan | None = None
        self.types: tuple[type, ...] = ()
        self.none = False
        self.adapter: TypeAdapter[Any] | None = None
        # A list's or dict's own constraints (``max_length``...), checked on what was built.
        self.check: TypeAdapter[Any] | None = None
        # A value that holds no containers (a scalar, a Literal, an enum...).
        self.leaf = False
        # A model whose fields are all leaves.
        self.shallow = False
        # A model's own validator, in C, when no field nests deeper than a list or dict of
        # leaves or a shallow model: tried first on a small dict (see _SMALL).
        self.validate: Any = None


_plans: dict[Any, _Plan] = {}


def _plan(annotation: Any) -> _Plan:
    """The plan of a partial type's annotation (cached; a model's is made before its
    fields', so a model that refers to itself reaches its own plan)."""
    found = _plans.get(annotation)
    if found is not None:
        return found
    none = False
    inner = annotation
    origin, args = get_origin(inner), get_args(inner)
    if origin in (Union, types.UnionType) and type(None) in args and len(args) == 2:
        none = True
        inner = next(a for a in args if a is not type(None))
        origin, args = get_origin(inner), get_args(inner)
    if origin is Annotated and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        inner = args[0]  # a model's own validation holds no constraints to check here
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        plan = _Plan("model")
        plan.model, plan.none = inner, none
        _plans[annotation] = plan
        for name, info in inner.model_fields.items():
            key = info.alias or name
            other = name if key != name and inner.model_config.get("populate_by_name") else None
            field: Any = info.annotation
            if info.metadata:
                field = _subscript(Annotated, (field, *info.metadata))
            plan.fields.append((name, key, other, _plan(field)))
        plan.template = dict.fromkeys(inner.model_fields)
        plan.shallow = all(field.leaf for *_, field in plan.fields)
        if all(_bounded(field) for *_, field in plan.fields):
            plan.validate = inner.__pydantic_validator__.validate_python
        return plan
    if origin is Annotated and get_origin(args[0]) in (*_LISTS, *_DICTS):
        # A constrained list or dict: built like any other (reusing what it can), and the
        # constraints checked on the result, not the whole container validated again.
        base = _plan(args[0])
        plan = _Plan(base.kind)
        plan.item, plan.key = base.item, base.key
        shape = list[Any] if base.kind == "list" else dict[Any, Any]
        plan.check = _adapter(_subscript(Annotated, (shape, *inner.__metadata__)))
    elif origin in _LISTS and len(args) == 1:
        plan = _Plan("list")
        plan.item = _plan(args[0])
    elif origin in _DICTS and len(args) == 2:
        plan = _Plan("dict")
        plan.key, plan.item = _plan(args[0]), _plan(args[1])
    elif inner in _AS_IS:
        plan = _Plan("scalar")
        plan.types = _AS_IS[inner]
        plan.adapter = _adapter(inner)
        plan.leaf = True
    elif inner is type(None):
        plan = _Plan("scalar")
        plan.leaf = True
    else:  # Literal, enums, unions of several types, constraints, tuples...
        plan = _Plan("whole")
        plan.adapter = _adapter(inner)
        plan.leaf = _is_leaf(inner)
    plan.none = none
    _plans[annotation] = plan
    return plan


def _is_leaf(annotation: Any) -> bool:
    """A type whose values hold no containers: a Literal, an enum, a constrained scalar,
    a date..."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return True
    if origin is Annotated:
        return _is_leaf(args[0])
    if origin in (Union, types.UnionType):
        return all(_is_leaf(a) for a in args)
    return (
        isinstance(annotation, type)
        and origin is None
        and annotation not in (Any, object)
        and not issubclass(annotation, (BaseModel, *_SEQUENCES, dict))
    )


def _bounded(field: _Plan) -> bool:
    """A field the model's own validator may take whole: no deeper than a list or dict of
    leaves, or a shallow model."""
    if field.kind in ("list", "dict"):
        return field.item is not None and field.item.leaf
    return field.leaf or (field.kind == "model" and field.shallow)


_NESTED = (dict, list)
_new_object = object.__new__
_set = object.__setattr__


class PartialBuilder:
    """Partial instances of one model from successive partial JSON values.

    Args:
        model: the pydantic model the reply (or a tool call's arguments) follows.
    """

    __slots__ = ("_last", "_lists", "_plan", "_seen", "_seen_lists", "model", "partial")

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        #: The partial type handed out (:func:`partial_model`).
        self.partial = partial_model(model)
        self._plan = _plan(self.partial)
        # What each container met in the last build became: a closed container is the
        # same object in the next partial value, so its result is reused.
        self._last: dict[int, tuple[Any, Any]] = {}
        self._seen: dict[int, tuple[Any, Any]] = {}
        # An open list is a new copy in every partial value, but only ever grows: by its
        # path, the last build's (items, results, results before its last item).
        self._lists: dict[tuple[Any, ...], tuple[list[Any], list[Any], int]] = {}
        self._seen_lists: dict[tuple[Any, ...], tuple[list[Any], list[Any], int]] = {}

    def build(self, value: Any) -> BaseModel | None:
        """The partial instance for ``value`` (``None``: nothing of it validates yet)."""
        self._seen, self._seen_lists = {}, {}
        try:
            return self._build(self._plan, value, ())  # type: ignore[no-any-return]
        except _Drop:
            return None
        finally:
            self._last, self._lists = self._seen, self._seen_lists

    def final(self, value: Any) -> BaseModel:
        """The complete value, validated by the model itself.

        Raises:
            pydantic.ValidationError: it does not follow the model.
        """
        return self.model.model_validate(value)

    def _build(self, plan: _Plan, value: Any, path: tuple[Any, ...]) -> Any:
        kind = type(value)
        if kind is not dict and kind is not list:
            if value is None:
                if plan.none or (plan.kind == "scalar" and not plan.types):
                    return None
                raise _Drop
            if kind in plan.types:
                return value
            if kind is int and plan.types == (float,):
                return float(value)
            if plan.adapter is None:
                raise _Drop
            try:
                return plan.adapter.validate_python(value)
            except ValidationError:
                raise _Drop from None
        key = id(value)
        last = self._last.get(key)
        if last is not None and last[0] is value:
            self._seen[key] = last
            if last[1] is _DROPPED:
                raise _Drop
            return last[1]
        validate = plan.validate
        if validate is not None and kind is dict and len(value) <= _SMALL:
            # A small model (the record still arriving, one that just closed): its
            # validator, in C, builds it in about a third of the time _model() takes, and
            # fails if a field does not validate yet, which _model() then leaves out. Its
            # fields nest at most one container deep (see _bounded), and those are checked
            # to be small too: a cost bounded per partial.
            for member in value.values():
                if type(member) in _NESTED and len(member) > _SMALL:
                    break
            else:
                try:
                    result = validate(value)
                except ValidationError:
                    pass
                else:
                    self._seen[key] = (value, result)
                    return result
        try:
            result = self._container(plan, value, path)
        except _Drop:
            self._seen[key] = (value, _DROPPED)
            raise
        self._seen[key] = (value, result)
        return result

    def _container(self, plan: _Plan, value: Any, path: tuple[Any, ...]) -> Any:
        kind = plan.kind
        if kind == "model" and type(value) is dict:
            return self._model(plan, value, path)
        if kind == "list" and type(value) is list:
            assert plan.item is not None
            built = self._list(plan.item, value, path)
            return built if plan.check is None else self._checked(plan, built)
        if kind == "dict" and type(value) is dict:
            assert plan.key is not None and plan.item is not None
            out = {}
            for k, v in value.items():
                try:
                    out[self._build(plan.key, k, path)] = self._build(plan.item, v, (*path, k))
                except _Drop:  # noqa: PERF203 - a value that does not validate is left out
                    continue
            return out if plan.check is None else self._checked(plan, out)
        if kind == "whole" and plan.adapter is not None:
            # pydantic's partial mode on the whole value (a union of models, a tuple...).
            try:
                return plan.adapter.validate_python(value, experimental_allow_partial=True)
            except ValidationError:
                raise _Drop from None
        raise _Drop

    @staticmethod
    def _checked(plan: _Plan, built: Any) -> Any:
        """``built``, if it meets the list's or dict's own constraints (else left out)."""
        assert plan.check is not None
        try:
            plan.check.validate_python(built)
        except ValidationError:
            raise _Drop from None
        return built

    def _list(self, item: _Plan, values: list[Any], path: tuple[Any, ...]) -> list[Any]:
        """The items that validate; what the last build made of the items that have not
        changed since (all but its last, which may have been still arriving) is reused,
        so an open list costs its new items, not its length."""
        out: list[Any] = []
        start = 0
        last = self._lists.get(path)
        if last is not None:
            items, results, before_last = last
            reuse = len(items) - 1
            if 0 < reuse <= len(values) and values[reuse - 1] is items[reuse - 1]:
                out, start = results[:before_last], reuse
        before = len(out)
        tip = len(values) - 1
        build = self._build
        types_as_is = item.types
        for index in range(start, len(values)):
            if index == tip:
                before = len(out)
            value = values[index]
            kind = type(value)
            if kind in types_as_is:
                out.append(value)  # the common case, inline
                continue
            try:
                out.append(build(item, value, (*path, index) if kind in _NESTED else path))
            except _Drop:  # an item that does not validate (yet) is left out
                continue
        self._seen_lists[path] = (values, out, before)
        return out

    def _model(self, plan: _Plan, value: dict[str, Any], path: tuple[Any, ...]) -> BaseModel:
        values = plan.template.copy()
        arrived: list[str] = []
        build = self._build
        for name, key, other, field in plan.fields:
            raw = value.get(key, _ABSENT)
            if raw is _ABSENT:
                if other is None:
                    continue
                raw = value.get(other, _ABSENT)
                if raw is _ABSENT:
                    continue
            kind = type(raw)
            if kind in field.types or (raw is None and field.none):
                values[name] = raw  # the common case, inline
            else:
                try:
                    values[name] = build(field, raw, (*path, name) if kind in _NESTED else path)
                except _Drop:  # a value that does not validate (yet) is left out
                    continue
            arrived.append(name)
        # model_construct without its per-field default lookups: every field of a partial
        # type defaults to None, and it has no private attributes or extras.
        instance = _new_object(plan.model)
        _set(instance, "__dict__", values)
        _set(instance, "__pydantic_fields_set__", set(arrived))
        _set(instance, "__pydantic_extra__", None)
        _set(instance, "__pydantic_private__", None)
        return instance  # type: ignore[no-any-return]


_DROPPED = object()
_ABSENT = object()

# A model's dict of at most this many members, each list or dict in it too, is handed to
# the model's own validator whole.
_SMALL = 32
