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

from vae_core.errors import VaeError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name → object, looked up in an entry-point group and in entries registered at run time."""

    def __init__(self, group: str, kind: str) -> None:
        self.group = group
        self.kind = kind
        self._registered: dict[str, T] = {}

    def register(self, name: str, obj: T) -> None:
        """Add an entry at run time (tests, notebooks); entry points are the way for packages."""
        self._registered[name] = obj

    def names(self) -> list[str]:
        """Every name that can be looked up, sorted."""
        return sorted(set(self._registered) | {ep.name for ep in entry_points(group=self.group)})

    def get(self, name: str) -> T:
        """The entry called ``name``; an unknown name is a VaeError listing the known ones."""
        if name in self._registered:
            return self._registered[name]
        for ep in entry_points(group=self.group, name=name):
            try:
                return ep.load()
            except Exception as error:  # a broken plugin must not look like a bug of ours
                raise VaeError(f"the {self.kind} plugin {name!r} ({ep.value}) failed to load: {error}") from error
        known = ", ".join(self.names()) or "none (is vae-explorer installed? run pip install -e .)"
        raise VaeError(f"unknown {self.kind} {name!r}; known: {known}")


MODELS: Registry[type] = Registry("vae_explorer.models", "model")
DATASETS: Registry = Registry("vae_explorer.datasets", "dataset")
