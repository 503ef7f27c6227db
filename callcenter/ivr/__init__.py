"""IVR flows: schema, loader, validator, opening hours and the sans-I/O interpreter.

The server loads flows with :func:`load_flows` (or a :class:`FlowRegistry` for hot
reload), starts one :class:`IvrSession` per call and feeds it events from
:mod:`callcenter.ivr.events`; it carries out the commands of
:mod:`callcenter.ivr.commands`. See ``docs/ivr.md``.
"""

from callcenter.ivr.calendar import BusinessCalendar
from callcenter.ivr.interpreter import IvrSession, IvrStateError
from callcenter.ivr.loader import FlowRegistry, load_flows
from callcenter.ivr.schema import Flow, FlowError, FlowSet, FlowSetInvalid
from callcenter.ivr.validator import check_flow_text, validate

__all__ = [
    "BusinessCalendar", "Flow", "FlowError", "FlowRegistry", "FlowSet", "FlowSetInvalid",
    "IvrSession", "IvrStateError", "check_flow_text", "load_flows", "validate",
]
