"""Every kind of event Msafiri stores, found by importing the packages that
define them - so a list built from it (the auditor's activity index, the NATS
schemas) never depends on which modules happened to be imported already."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from domain.model import DomainEvent

# (module prefix, context name): the bounded contexts that own events.
CONTEXTS = (
    ("domain.cases.", "cases"),
    ("domain.incidents.", "incidents"),
    ("domain.officers.", "officers"),
    ("domain.access.", "access"),
    ("domain.employers.", "employers"),
    ("domain.claims.", "claims"),
    ("domain.coverage.", "coverage"),
    ("ledger.", "fund"),
)
EVENT_PACKAGES = (
    "domain.cases",
    "domain.incidents",
    "domain.officers",
    "domain.access",
    "domain.employers",
    "domain.claims",
    "domain.coverage",
    "ledger",
)


@cache
def event_classes() -> tuple[type[DomainEvent], ...]:
    """Every event class of Msafiri's own contexts (a test may define
    throwaway event classes elsewhere; they are not listed)."""
    for package_name in EVENT_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.iter_modules(package.__path__, package_name + "."):
            importlib.import_module(module.name)
    ours = tuple(prefix for prefix, _ in CONTEXTS)
    found: list[type[DomainEvent]] = []
    todo = list(DomainEvent.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith(ours):
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return tuple(sorted(found, key=lambda c: (c.__module__, c.__name__)))


@cache
def event_type_names() -> frozenset[str]:
    return frozenset(cls.__name__ for cls in event_classes())
