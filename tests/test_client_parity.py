"""The remote API is the embedded one: the method list comes from ``Accord`` itself.

Every public method of ``Accord`` (its mixins included) must be on ``AccordAPI``, ``Client``,
``AsyncAccordAPI`` and ``AsyncClient`` with the same parameters: names, kinds, defaults and
annotations. mypy checks the types (src/accord/_api.py); this checks what mypy lets through,
such as a renamed positional parameter.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import accord
from accord import Accord, AccordAPI, AsyncAccordAPI

Shape = list[tuple[str, Any, Any, Any]]
ASYNC_ONLY = frozenset({"aclose"})  # AsyncClient.aclose: httpx's name for close, kept beside it


def public_methods(cls: type) -> dict[str, Any]:
    return {name: fn for name, fn in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_")}


def shape(fn: Any) -> Shape:
    """Each parameter after self: name, kind, default, annotation (as written)."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    return [(p.name, p.kind, p.default, p.annotation) for p in params]


def embedded() -> dict[str, Any]:
    methods = public_methods(Accord)
    assert {"propose", "pause_seat", "subscribe", "iter_ledger", "close"} <= set(methods)
    return methods


def mismatches(embedded_methods: dict[str, Any], other: type,
               extra_ok: frozenset[str] = frozenset()) -> list[str]:
    theirs = public_methods(other)
    problems = [f"{other.__name__} lacks {name}" for name in sorted(set(embedded_methods)
                                                                    - set(theirs))]
    problems += [f"{other.__name__}.{name} is not a method of Accord"
                 for name in sorted(set(theirs) - set(embedded_methods) - extra_ok)]
    for name, fn in sorted(embedded_methods.items()):
        if name in theirs and shape(theirs[name]) != shape(fn):
            problems.append(f"{other.__name__}.{name}{inspect.signature(theirs[name])} differs "
                            f"from Accord.{name}{inspect.signature(fn)}")
    return problems


@pytest.mark.parametrize("other", ["AccordAPI", "Client", "AsyncAccordAPI", "AsyncClient"])
def test_the_remote_api_has_every_method_of_the_embedded_one_with_the_same_parameters(
        other: str) -> None:
    cls = getattr(accord, other)
    assert mismatches(embedded(), cls, ASYNC_ONLY if "Async" in other else frozenset()) == []


@pytest.mark.parametrize("other", ["AsyncAccordAPI", "AsyncClient"])
def test_every_async_method_is_awaited_and_iter_ledger_is_an_async_iterator(other: str) -> None:
    for name, fn in public_methods(getattr(accord, other)).items():
        if name == "iter_ledger":
            assert inspect.isasyncgenfunction(fn) or "AsyncIterator" in str(
                inspect.signature(fn).return_annotation), name
        else:
            assert inspect.iscoroutinefunction(fn), f"{other}.{name} is not async"


def test_the_sync_methods_return_what_the_embedded_ones_return() -> None:
    allowed = {"subscribe": {"Subscription", "RemoteSubscription"}}
    for cls in (AccordAPI, accord.Client):
        for name, fn in embedded().items():
            mine = str(inspect.signature(getattr(cls, name)).return_annotation)
            theirs = str(inspect.signature(fn).return_annotation)
            assert mine in allowed.get(name, {theirs}), f"{cls.__name__}.{name} -> {mine}"


def test_a_removed_method_or_a_renamed_parameter_is_caught() -> None:
    class Short:
        def close(self) -> None: ...
        def touch(self, touch: str) -> Any: ...  # renamed: touch_id

    problems = mismatches(embedded(), Short)
    assert "Short lacks propose" in problems
    assert any(p.startswith("Short.touch(") for p in problems)


def test_the_protocols_are_exported_from_accord() -> None:
    assert {"AccordAPI", "AsyncAccordAPI"} <= set(accord.__all__)
    assert AsyncAccordAPI is accord.AsyncAccordAPI
