"""The API's request and answer models (pydantic v2), and the operations table `openapi.yaml` is made from.

* `common` — named scalars and small shared shapes (Text, Code, CategoryCode, Status, Error, ...);
* `bodies` — every JSON (or form) request body; limits come from the domain's constants;
* `queries` — every query string, one model per route family;
* `answers` — every answer body;
* `operations` — route → operationId, tags, parameters, body, answers by status (documentation only:
  the app never imports it).

`make openapi` (civic_dev.openapi) turns them into `openapi.yaml`; tests/unit/test_openapi_generated.py
fails when the committed document is stale.
"""
