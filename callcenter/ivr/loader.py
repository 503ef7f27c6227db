"""Loading flows for the server, and reloading them while calls are in progress."""

from __future__ import annotations

from pathlib import Path

from callcenter.ivr.interpreter import IvrSession
from callcenter.ivr.schema import Flow, FlowError, FlowSet, FlowSetInvalid
from callcenter.ivr.validator import check_flow_set


def load_flows(path: Path) -> FlowSet:
    """Read and validate a flow file or a folder of ``*.yaml`` flows.

    Raises :class:`FlowSetInvalid` (code ``flow.invalid``) listing every error; the
    server refuses to start on it and prints the errors.
    """
    flows, errors = check_flow_set(path)
    if errors or flows is None:
        raise FlowSetInvalid(errors)
    return flows


class FlowRegistry:
    """The current flows, replaced as a whole on reload.

    Sessions hold the :class:`Flow` they started with, so a reload affects only calls
    that start after it. An invalid reload changes nothing and returns the errors.
    """

    def __init__(self, flows: FlowSet, path: Path | None = None) -> None:
        self._flows = flows
        self.path = path
        self.generation = 1  # bumped by every successful reload

    @classmethod
    def from_path(cls, path: Path) -> FlowRegistry:
        """Load flows for start-up; raises :class:`FlowSetInvalid`."""
        return cls(load_flows(path), path)

    @property
    def flows(self) -> FlowSet:
        return self._flows

    def reload(self, path: Path | None = None) -> list[FlowError]:
        """Load the flows again (supervisor command); keep the old ones if the new are invalid."""
        path = path or self.path
        if path is None:
            raise ValueError("reload needs a path: the registry was not loaded from one")
        flows, errors = check_flow_set(path)
        if errors or flows is None:
            return errors
        self._flows = flows
        self.path = path
        self.generation += 1
        return []

    def flow_for(self, entry: str) -> Flow | None:
        """The flow answering a dialled number, ``chat`` or ``post_call``."""
        return self._flows.for_entry(entry)

    def start_session(self, entry: str) -> IvrSession | None:
        """A new session pinned to the current version of the flow for ``entry``."""
        flow = self.flow_for(entry)
        return None if flow is None else IvrSession(flow)
