"""What routing needs, cached per container: the unit tree and rules and the published routing index.

Units and rules are checked every minute, so an operator's change takes effect without a deploy: the
check reads the store's version (one item) and re-reads both tables only when it moved. A store
without a version (an in-memory fake) is re-read every minute."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from civic.domain.units import RoutingRule, UnitTree

if TYPE_CHECKING:
    from civic.settings import Settings

UNITS_TTL_SECONDS = 60.0


class Directory:
    def __init__(self, settings: Settings, units_store=None, index_cache=None) -> None:
        from civic.adapters.dynamo.units import DynamoUnitStore

        self.settings = settings
        self.units_store = units_store or DynamoUnitStore()
        self._index_cache = index_cache
        self._lock = threading.Lock()
        self._loaded_at = -1e9
        self._tree = UnitTree([])
        self._rules: list[RoutingRule] = []
        self._version: int | None = None  # the store's version when the tables were last read

    def _refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._loaded_at < UNITS_TTL_SECONDS:
                return
            versioned = getattr(self.units_store, "version", None)
            # Read before the tables: a change landing meanwhile moves it again, and the next check re-reads.
            version = versioned() if versioned is not None else None
            if version is None or version != self._version:
                self._tree = self.units_store.tree()
                self._rules = self.units_store.rules()
                self._version = version
            self._loaded_at = time.monotonic()

    def invalidate(self) -> None:
        """After an admin change in this process: the next read goes to the tables."""
        self._loaded_at = -1e9
        self._version = None

    @property
    def tree(self) -> UnitTree:
        self._refresh()
        return self._tree

    @property
    def rules(self) -> list[RoutingRule]:
        self._refresh()
        return self._rules

    @property
    def index_cache(self):
        if self._index_cache is None:
            from civic.adapters.s3.routing_index import index_cache

            self._index_cache = index_cache(self.settings)
        return self._index_cache

    def artifact(self):
        return self.index_cache.get()

    def locator(self):
        from civic.services.routing import ArtifactLocator

        return ArtifactLocator(self.artifact(), snap_distance_m=self.settings.snap_distance_m)

    def geometry(self, code: str):
        artifact = self.artifact()
        for layer in (artifact.admin, getattr(artifact, "agency", None)):
            if layer is not None and code in layer.codes:
                return layer.geometry(code)
        return None
