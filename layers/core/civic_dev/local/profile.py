"""A province's profile for the local stack: `civic local --profile DIR` (`make run ARGS="--profile DIR"`).

A profile folder holds what an operator loads for their own province, in the formats the `civic`
commands take, so trying it locally and loading it into AWS are the same files:

    profile.json        the deployment settings: name, tracking prefix, service area, map, tiles
    units.json|csv      the units (`civic units import`)
    rules.json|csv      the routing rules (`civic rules import`)
    boundaries.geojson  the wards' and agencies' boundaries (`civic boundaries import`)
    staff.csv           email,role,units,name (`civic staff import`)

Everything is validated the way those commands validate it; a problem stops the start with the file
and the reason. Staff get temporary passwords, printed once, to be changed at their first sign-in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FILES = ("profile.json", "boundaries.geojson", "staff.csv")


class ProfileError(ValueError):
    pass


@dataclass(frozen=True)
class Profile:
    dir: Path
    settings: dict[str, Any]

    @property
    def name(self) -> dict[str, str]:
        return self.settings.get("name") or {"vi": self.dir.name, "en": self.dir.name}

    @property
    def tracking_prefix(self) -> str:
        return str(self.settings.get("tracking_prefix") or "VN")

    def parameters(self) -> dict[str, str]:
        """Template parameters, as `samconfig.toml` would set them for this province."""
        s = self.settings
        out = {"TrackingPrefix": self.tracking_prefix, "ProvinceNameVi": self.name.get("vi", ""),
               "ProvinceNameEn": self.name.get("en", "")}
        if s.get("service_bbox"):
            out["ServiceBbox"] = ",".join(str(v) for v in s["service_bbox"])
        if s.get("feed_default_bbox") or s.get("service_bbox"):
            out["FeedDefaultBbox"] = ",".join(str(v) for v in s.get("feed_default_bbox") or s["service_bbox"])
        if s.get("map_center"):
            out["MapCenter"] = ",".join(str(v) for v in s["map_center"])
        if s.get("map_zoom"):
            out["MapZoom"] = str(s["map_zoom"])
        for key, name in (("tile_url", "TileUrl"), ("tile_attribution", "TileAttribution")):
            if s.get(key):
                out[name] = str(s[key])
        return out

    def _one_of(self, stem: str) -> Path:
        for suffix in (".json", ".csv"):
            if (self.dir / f"{stem}{suffix}").is_file():
                return self.dir / f"{stem}{suffix}"
        raise ProfileError(f"{self.dir}: {stem}.json or {stem}.csv is missing")


def load(directory: str | Path) -> Profile:
    path = Path(directory).resolve()
    if not path.is_dir():
        raise ProfileError(f"{path}: no such profile folder")
    missing = [name for name in FILES if not (path / name).is_file()]
    if missing:
        raise ProfileError(f"{path}: missing {', '.join(missing)} (a profile has {', '.join(FILES)}, units, rules)")
    try:
        settings = json.loads((path / "profile.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProfileError(f"{path / 'profile.json'}: {exc}") from None
    if not isinstance(settings, dict):
        raise ProfileError(f"{path / 'profile.json'}: an object is expected")
    return Profile(path, settings)


def seed(profile: Profile, env: dict, endpoint_url: str, region: str) -> list[dict]:
    """Load the profile into the running local AWS; returns the staff logins (temporary passwords)."""
    import boto3

    from civic.adapters.dynamo import models
    from civic.adapters.dynamo.units import DynamoUnitStore
    from civic.adapters.s3.routing_index import publish_collection
    from civic.domain.categories import all_categories
    from civic.domain.units import UnitError, UnitTree, check_references, parse_rule, parse_unit
    from civic.settings import Settings
    from civic_dev.cli.staff import read_staff_csv, set_membership, temporary_password
    from civic_dev.cli.units import _read_rows, _rule_from_csv, _unit_from_csv

    settings = Settings(**{k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields})
    models.bind(settings)
    categories = all_categories()
    units_file, rules_file = profile._one_of("units"), profile._one_of("rules")
    try:
        raw_units = _read_rows(units_file, "units")
        raw_rules = _read_rows(rules_file, "rules")
        if units_file.suffix == ".csv":
            raw_units = [_unit_from_csv(row) for row in raw_units]
        if rules_file.suffix == ".csv":
            raw_rules = [_rule_from_csv(row) for row in raw_rules]
        units = [parse_unit(u, categories) for u in raw_units]
        rules = [parse_rule(r, categories) for r in raw_rules]
    except (UnitError, ValueError) as exc:
        raise ProfileError(f"{profile.dir}: {exc}") from None
    problems = check_references(units, rules)
    if problems:
        raise ProfileError(f"{profile.dir}: " + "; ".join(f"{k}: {v}" for k, v in sorted(problems.items())))
    store = DynamoUnitStore()
    for unit in units:
        store.put(unit)
    for rule in rules:
        store.put_rule(rule)
    tree = UnitTree(units)

    collection = json.loads((profile.dir / "boundaries.geojson").read_text(encoding="utf-8"))
    s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
    status = publish_collection(collection, tree, client=s3, bucket=settings.config_bucket,
                                source_key=f"profile:{profile.dir.name}")
    if not status["ok"]:
        from civic.services.boundaries import status_lines

        raise ProfileError(f"{profile.dir / 'boundaries.geojson'} refused:\n" + "\n".join(status_lines(status, "en")))

    staff, staff_problems = read_staff_csv(str(profile.dir / "staff.csv"), lambda code: code in tree)
    if staff_problems:
        raise ProfileError(f"{profile.dir / 'staff.csv'}: " + "; ".join(staff_problems))
    cognito = boto3.client("cognito-idp", endpoint_url=endpoint_url, region_name=region)
    logins = []
    for row in staff:
        result = set_membership(cognito, settings, row["email"], row["role"], row["units"], row["name"],
                                lambda code: code in tree, temporary_password())
        logins.append({"username": row["email"], "password": result.get("temporary_password", ""),
                       "role": row["role"], "unit": (row["units"] or [None])[0], "temporary": True})
    return logins
