"""The ``callcenter`` command line.

Each subcommand lives in the module that owns its concept; that module defines
``add_arguments(parser)`` and ``run(args, config) -> int``. Modules are imported
only when their command runs, so ``callcenter --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path

from callcenter.config import load_config
from callcenter.errors import CallCenterError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("callcenter.serve", "run the server"),
    "config": ("callcenter.config", "print the effective configuration"),
    "demo": ("callcenter.demo", "server + demo CRM data + simulated traffic + bot agents"),
    "migrate": ("callcenter.store.migrate", "create or upgrade the CRM store schema"),
    "seed": ("callcenter.seed", "fill the store with deterministic demo data"),
    "recompute-segments": ("callcenter.segments", "recompute RFM, segment, lifecycle, tier"),
    "check-flows": ("callcenter.ivr.check", "validate IVR flow files"),
    "pbx-sim": ("callcenter.pbx_sim", "run the PBX simulator on MQTT"),
    "staffing": ("callcenter.staffing", "Erlang C / Erlang A staffing table"),
    "report": ("callcenter.reports", "interval report from the interaction records"),
    "simulate": ("callcenter.simulate", "discrete-event simulation of a day"),
    "whatif": ("callcenter.whatif", "compare routing policies on one arrival trace"),
}


def available_commands() -> dict[str, tuple[str, str]]:
    """Commands whose module is present in this build."""
    present = {}
    for name, (module, text) in COMMANDS.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            present[name] = (module, text)
    return present


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the module of the command named in ``argv`` is imported."""
    chosen = next((arg for arg in (argv or []) if arg in COMMANDS), None)
    parser = argparse.ArgumentParser(
        prog="callcenter",
        description="Contact-routing server for e-commerce contact centers.",
    )
    parser.add_argument("--config", type=Path, action="append",
                        help="TOML configuration file (repeatable; default: config/*.toml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, text) in available_commands().items():
        command = sub.add_parser(name, help=text, description=text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(command)
            command.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        config = load_config(files=args.config)
        return int(args._module.run(args, config) or 0)
    except CallCenterError as exc:
        print(f"callcenter {args.command}: error [{exc.code}]: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
