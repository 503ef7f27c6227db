"""``python -m callcenter.pbx_sim``: the simulator on its own.

The same options as ``callcenter pbx-sim``, without loading every other command of
the ``callcenter`` CLI (and the server's imports), so it starts in a fraction of
the time: handy for benches and tests that spawn it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from callcenter.config import load_config
from callcenter.errors import CallCenterError
from callcenter.pbx_sim.command import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    """Parse the options, load the configuration and run the simulator."""
    parser = argparse.ArgumentParser(prog="python -m callcenter.pbx_sim",
                                     description="run the PBX simulator on MQTT")
    parser.add_argument("--config", type=Path, action="append",
                        help="TOML configuration file (repeatable; default: config/*.toml)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args, load_config(files=args.config))
    except CallCenterError as exc:
        print(f"pbx-sim: error [{exc.code}]: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
