"""Registries of models and datasets, filled from Python entry points so outside packages can add their own.

A plugin package declares, in its pyproject.toml::

    [project.entry-points."vae_explorer.datasets"]
    my-digits = "my_package.data:MY_DIGITS"

and ``DATASETS.get("my-digits")`` then finds it. The built-ins are declared the same way in this project's
pyproject.toml.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Generic, TypeVar

from vae_core.data import Dataset
from vae_core.errors import VaeError

T = TypeVar("T")


def protocol_members(protocol: type) -> list[str]:
    """The names a class must have to follow ``protocol``: its annotated attributes and its methods."""
    methods = [name for name, value in vars(protocol).items() if callable(value) and not name.startswith("_")]
    return [*getattr(protocol, "__annotations__", {}), *methods]


class Registry(Generic[T]):
    """Name → object, looked up in an entry-point group and in entries registered at run time.

    With a ``protocol``, an entry lacking any of its members is refused when it is registered or loaded.
    """

    def __init__(self, group: str, kind: str, protocol: type | None = None) -> None:
        self.group = group
        self.kind = kind
        self.required = protocol_members(protocol) if protocol is not None else []
        self._registered: dict[str, T] = {}

    def register(self, name: str, obj: T) -> None:
        """Add an entry at run time (tests, notebooks); entry points are the way for packages."""
        self._check(name, "registered at run time", obj)
        self._registered[name] = obj

    def _check(self, name: str, where: str, obj: T) -> T:
        missing = [member for member in self.required if not hasattr(obj, member)]
        if missing:
            raise VaeError(f"the {self.kind} plugin {name!r} ({where}) lacks {', '.join(missing)}")
        return obj

    def names(self) -> list[str]:
        """Every name that can be looked up, sorted."""
        return sorted(set(self._registered) | {ep.name for ep in entry_points(group=self.group)})

    def get(self, name: str) -> T:
        """The entry called ``name``; an unknown name is a VaeError listing the known ones."""
        if name in self._registered:
            return self._registered[name]
        for ep in entry_points(group=self.group, name=name):
            try:
                loaded = ep.load()
            except Exception as error:  # a broken plugin must not look like a bug of ours
                raise VaeError(f"the {self.kind} plugin {name!r} ({ep.value}) failed to load: {error}") from error
            return self._check(name, ep.value, loaded)
        known = ", ".join(self.names()) or "none (is vae-explorer installed? run pip install -e .)"
        raise VaeError(f"unknown {self.kind} {name!r}; known: {known}")


MODELS: Registry[type] = Registry("vae_explorer.models", "model")
DATASETS: Registry[Dataset] = Registry("vae_explorer.datasets", "dataset", Dataset)
