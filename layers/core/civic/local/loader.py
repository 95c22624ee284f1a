"""Load the Chalice app object from a Chalice project directory, by file path (no sys.path edits)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import chalice


def load_chalice_app(project_dir: str | os.PathLike[str] = "chalice_app", attr: str = "app") -> chalice.Chalice:
    """Import ``<project_dir>/app.py`` and return its ``app`` (a ``chalice.Chalice``).

    The module is registered in ``sys.modules`` under a name derived from its absolute path
    (``_chalice_app_<hash>``) so dataclasses/pickling inside it work and loading the same file
    twice returns the same module. The app must import only installed packages (``civic``,
    ``chalice``), not siblings in its directory.
    """
    path = os.path.abspath(os.path.join(os.fspath(project_dir), "app.py"))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no Chalice app at {path}")
    name = "_chalice_app_" + hashlib.sha1(path.encode()).hexdigest()[:12]
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:  # pragma: no cover
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
    try:
        app = getattr(module, attr)
    except AttributeError:
        raise AttributeError(f"{path} defines no {attr!r}") from None
    from chalice import Chalice

    if not isinstance(app, Chalice):
        raise TypeError(f"{path}: {attr!r} is a {type(app).__name__}, not a chalice.Chalice")
    return app
