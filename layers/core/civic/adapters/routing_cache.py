"""What routing needs, cached per container: the unit tree and rules (re-read every minute, so an
operator's change takes effect without a deploy) and the published routing index."""

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

    def _refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._loaded_at < UNITS_TTL_SECONDS:
                return
            self._tree = self.units_store.tree()
            self._rules = self.units_store.rules()
            self._loaded_at = time.monotonic()

    def invalidate(self) -> None:
        """After an admin change in this process: the next read goes to the table."""
        self._loaded_at = -1e9

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
