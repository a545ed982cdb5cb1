"""Public names of a package imported on first use, so that a ``qsp`` command loads only what it runs."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str | None]) -> tuple[Callable, Callable]:
    """The module ``__getattr__`` and ``__dir__`` of ``package`` for ``exports`` (public name -> the
    submodule that defines it; None where the name is the submodule itself). Any other submodule is
    imported when first named, as it would be after an eager import of the package.

    A name that is also a submodule's name must not be exported this way: importing the submodule
    would bind the module under that name.
    """
    names = sorted(exports)

    def __getattr__(name: str):
        if name not in exports:
            if not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}") is not None:
                return importlib.import_module(f".{name}", package)  # a submodule, as after an eager import
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = exports[name]
        value = importlib.import_module(f".{name if module is None else module}", package)
        if module is not None:
            value = getattr(value, name)
        globals_of = importlib.import_module(package).__dict__
        globals_of[name] = value
        return value

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__
