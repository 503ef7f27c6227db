"""Reports over HTTP: interval reports from the interaction records, Prometheus metrics.

``GET /api/v1/reports/intervals`` is :func:`callcenter.reports.report_json` (DESIGN §6:
a contact counts in the interval of its first queue entry, in the center's time zone);
``GET /metrics`` is the Prometheus exposition of the live figures
(:class:`callcenter.metrics.LiveMetrics`, fed from the router's commands).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from msgspec import Meta, Struct
from prometheus_client import CONTENT_TYPE_LATEST

from callcenter.errors import FieldError, ValidationFailed
from callcenter.http_api.operations import Api, Call, Response, json_response
from callcenter.metrics import render_prometheus
from callcenter.reports import parse_interval, report_json, to_csv
from callcenter.schemas import ErrorBody

api = Api()
MAX_DAYS = 93


class IntervalQuery(Struct, kw_only=True, rename={"start": "from", "end": "to"}):
    start: Annotated[str, Meta(min_length=10, max_length=32,
                               description="local date or date-time, inclusive")]
    end: Annotated[str, Meta(min_length=10, max_length=32,
                             description="local date or date-time, exclusive")]
    interval: Literal["15", "30", "60", "day"] = "30"
    by: Literal["queue", "channel", "agent"] = "queue"
    format: Literal["json", "csv"] = "json"


class IntervalReport(Struct, rename={"start": "from", "end": "to"}):
    start: str
    end: str
    interval: Any
    group_by: str
    time_zone: str
    rows: list[dict[str, Any]]


def _as_datetime(value: date | datetime) -> datetime:
    """A date means local midnight."""
    return value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time())


def _local(text: str, name: str) -> date | datetime:
    try:
        value: date | datetime = (date.fromisoformat(text) if len(text) == 10
                                  else datetime.fromisoformat(text))
    except ValueError:
        raise ValidationFailed(f"{name}: not an ISO date or date-time",
                               fields=[FieldError(name, "not an ISO date or date-time")]) from None
    return value


@api.operation(
    "GET", "/api/v1/reports/intervals", summary="Interval report (per queue, channel or agent)",
    tag="reports", roles={"supervisor", "admin"}, query=IntervalQuery,
    description=f"Contacts by the local interval of their first queue entry; at most "
                f"{MAX_DAYS} days. format=csv answers text/csv.",
    responses=[Response(200, IntervalReport, "the report rows"),
               Response(401, ErrorBody, "no or bad token"),
               Response(403, ErrorBody, "role not allowed"),
               Response(422, ErrorBody, "bad period or parameters")],
)
async def interval_report(call: Call) -> web.StreamResponse:
    q: IntervalQuery = call.query
    start, end = _as_datetime(_local(q.start, "from")), _as_datetime(_local(q.end, "to"))
    if (start.tzinfo is None) != (end.tzinfo is None) or end <= start:
        raise ValidationFailed("to must come after from (both local, or both with an offset)",
                               fields=[FieldError("to", "must come after from")])
    if (end - start).days > MAX_DAYS:
        raise ValidationFailed(f"at most {MAX_DAYS} days per report",
                               fields=[FieldError("to", f"at most {MAX_DAYS} days after from")])
    runtime = call.services.runtime
    targets = {name: config.sl_target_s for name in runtime.router.queue_names()
               if (config := runtime.queue_config(name)) is not None}
    body = await report_json(call.services.engine, start, end, parse_interval(q.interval),
                             call.services.config.center.time_zone, q.by, targets)
    if q.format == "csv":
        return web.Response(text=to_csv(body["rows"]), content_type="text/csv")
    return json_response(body)


@api.operation("GET", "/metrics", summary="Prometheus metrics of the live figures",
               tag="health", roles=None,
               responses=[Response(200, None, "Prometheus text exposition")])
async def metrics(call: Call) -> web.StreamResponse:
    response = web.Response(body=render_prometheus(call.services.metrics))
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response
