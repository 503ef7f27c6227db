"""PBX simulator: a separate process (or an in-process library) speaking CTI over MQTT.

There is no real PBX on our machines, so the product ships this simulator. It
speaks exactly the contract a real PBX bridge speaks (``docs/cti.md``): it places
inbound calls, plays prompts and collects digits for the IVR, rings agent
extensions that answer or not per a configurable phone model, holds, transfers,
dials callbacks, hangs up when callers run out of patience or finish talking, and
answers commands that make no sense for the call's state with ``command_rejected``.

- :class:`PbxSimulator`: the library (tests, benches, the demo).
- :mod:`~callcenter.pbx_sim.model`: settings, delays, call states and the transition table.
- :mod:`~callcenter.pbx_sim.traffic`: arrival rate, arrival times, caller numbers.
- ``callcenter pbx-sim``: the command line (:mod:`~callcenter.pbx_sim.command`).
"""

from callcenter.pbx_sim.command import add_arguments, run
from callcenter.pbx_sim.model import (
    NEVER,
    TRANSITIONS,
    CallerScript,
    CallState,
    Delay,
    InvalidCallTransition,
    PhoneProfile,
    SimulatorSettings,
    SimulatorSettingsError,
    Trigger,
    next_state,
)
from callcenter.pbx_sim.simulator import (
    CallView,
    PbxSimulator,
    SimulatorStats,
    SimulatorUnreachable,
)
from callcenter.pbx_sim.traffic import generate_calls, keys_randomly, parse_rate

__all__ = [
    "NEVER",
    "TRANSITIONS",
    "CallState",
    "CallView",
    "CallerScript",
    "Delay",
    "InvalidCallTransition",
    "PbxSimulator",
    "PhoneProfile",
    "SimulatorSettings",
    "SimulatorSettingsError",
    "SimulatorStats",
    "SimulatorUnreachable",
    "Trigger",
    "add_arguments",
    "generate_calls",
    "keys_randomly",
    "next_state",
    "parse_rate",
    "run",
]
