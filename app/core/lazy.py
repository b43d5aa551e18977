"""Names a package exports but loads only when first used (PEP 562), for the kit's public faces."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_names(package: str, namespace: dict[str, Any], names: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` exporting ``names`` (public name ->
    ``"module:attribute"``). A resolved name is cached in ``namespace`` (the package's globals); an
    unknown one raises AttributeError, so ``from package import submodule`` still finds submodules."""

    def __getattr__(name: str) -> Any:
        ref = names.get(name)
        if ref is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attr = ref.partition(":")
        value = getattr(importlib.import_module(module), attr)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__
