"""Load the Chalice app object from a Chalice project directory, by file path (no sys.path edits)."""

from __future__ import annotations

import importlib.util
import os
import sys
import zlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import chalice


def load_module(name: str, path: str | os.PathLike[str], *, package_dir: str | None = None) -> ModuleType:
    """Import the file at ``path`` as module ``name`` (once; later calls return the same module).
    With ``package_dir`` the module is a package whose submodules resolve inside that folder."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    locations = [package_dir] if package_dir else None
    spec = importlib.util.spec_from_file_location(name, os.fspath(path), submodule_search_locations=locations)
    if spec is None or spec.loader is None:  # pragma: no cover
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _ensure_chalicelib(project_dir: str) -> None:
    """Make ``import chalicelib`` resolve to ``<project_dir>/chalicelib`` (Chalice's vendored-code convention).

    Chalice packages ``chalicelib/`` next to ``app.py``; in Lambda it is importable because the
    project root is the function's code root. Locally it is registered in ``sys.modules`` from its
    path. A ``chalicelib`` of a *different* project loaded earlier is replaced (with its submodules).
    """
    directory = os.path.join(project_dir, "chalicelib")
    if not os.path.isfile(os.path.join(directory, "__init__.py")):
        return
    current = sys.modules.get("chalicelib")
    if current is not None:
        paths = [os.path.abspath(p) for p in getattr(current, "__path__", [])]
        if paths == [directory]:
            return
        for mod in [m for m in sys.modules if m == "chalicelib" or m.startswith("chalicelib.")]:
            del sys.modules[mod]
    load_module("chalicelib", os.path.join(directory, "__init__.py"), package_dir=directory)


def load_chalice_app(project_dir: str | os.PathLike[str] = "chalice_app", attr: str = "app") -> chalice.Chalice:
    """Import ``<project_dir>/app.py`` and return its ``app`` (a ``chalice.Chalice``).

    The module is registered in ``sys.modules`` under a name derived from its absolute path
    (``_chalice_app_<hash>``), so loading the same file twice returns the same app object. The
    app may import installed packages (``civic``, ``chalice``) and its own ``chalicelib``
    package, which is loaded from ``<project_dir>/chalicelib`` by path; ``sys.path`` is untouched.
    """
    project = os.path.abspath(os.fspath(project_dir))
    path = os.path.join(project, "app.py")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no Chalice app at {path}")
    name = f"_chalice_app_{zlib.crc32(path.encode()):08x}"
    if name not in sys.modules:
        _ensure_chalicelib(project)
    module = load_module(name, path)
    try:
        app = getattr(module, attr)
    except AttributeError:
        raise AttributeError(f"{path} defines no {attr!r}") from None
    from chalice import Chalice

    if not isinstance(app, Chalice):
        raise TypeError(f"{path}: {attr!r} is a {type(app).__name__}, not a chalice.Chalice")
    return app
