"""The OpenAPI 3.1 document, generated from the operations and their msgspec types.

Nothing here is written by hand per endpoint: paths, parameters, request bodies,
responses, roles (``x-roles``) and schemas all come from the ``Api`` declarations
(:mod:`callcenter.http_api.operations`) and :mod:`callcenter.schemas`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from callcenter.http_api.operations import JSON, Api, Call, Operation, Response, json_response

REF = "#/components/schemas/{name}"
api = Api()


def _is_struct(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, msgspec.Struct)


def build_document(apis: list[Api], *, title: str, version: str) -> dict[str, Any]:
    """The whole OpenAPI document of ``apis``."""
    operations = [op for a in apis for op in a.operations]
    types: list[Any] = []
    for op in operations:
        for kind in (op.body, op.query, *(r.type for r in op.responses)):
            if kind is not None and kind is not bytes and kind not in types:
                types.append(kind)
    schemas, components = msgspec.json.schema_components(types, ref_template=REF)
    by_type = dict(zip(types, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, by_type, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Contact-routing server: contacts, administration, "
                                "supervision. Errors: {\"error\": {\"code\", \"message\", "
                                "\"fields\"?}} with stable codes. Websockets (/ws/agent, "
                                "/ws/supervisor) are described by the JSON Schemas in "
                                "docs/schemas/."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(op: Operation, by_type: dict[Any, Any],
               components: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary,
                           "tags": [op.tag]}
    if op.description:
        doc["description"] = op.description
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True,
         "schema": op.path_params.get(name, {"type": "string"})}
        for name in op.path_names()
    ]
    if op.query is not None:
        query_schema = components[op.query.__name__]
        required = set(query_schema.get("required", []))
        for name, schema in query_schema.get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": name in required,
                               "schema": _non_null(schema)})
    if op.body_media == JSON and op.path == "/api/v1/contacts":
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "schema": {"type": "string", "minLength": 1, "maxLength": 300}})
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None:
        body_schema = {"type": "string"} if op.body is bytes else by_type[op.body]
        doc["requestBody"] = {"required": True,
                              "content": {op.body_media: {"schema": body_schema}}}
    doc["responses"] = {str(r.status): _response(r, by_type) for r in op.responses}
    if op.roles is not None:
        doc["security"] = [{"bearer": []}]
        doc["x-roles"] = sorted(op.roles)
    else:
        doc["security"] = []
    return doc


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    """Query parameters are absent rather than null: drop the null branch."""
    options = schema.get("anyOf")
    if options:
        kept = [o for o in options if o.get("type") != "null"]
        if len(kept) == 1:
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
            return {**kept[0], **rest}
    return {k: v for k, v in schema.items() if k != "default" or v is not None}


def _response(response: Response, by_type: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": response.description}
    if response.type is not None:
        out["content"] = {"application/json": {"schema": by_type[response.type]}}
    return out


@api.operation("GET", "/api/openapi.json", summary="This OpenAPI document", tag="meta",
               roles=None, responses=[Response(200, None, "the OpenAPI 3.1 document")])
async def openapi_json(call: Call) -> web.StreamResponse:
    return json_response(call.request.app[OPENAPI])


OPENAPI = web.AppKey("openapi", dict)
