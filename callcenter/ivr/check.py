"""``callcenter check-flows [PATH]``: validate IVR flow files and print every error.

Each error is one line, ``file:line:column: code: message`` (the format editors and CI
annotate). Exit code 1 when there is any error, 0 with a one-line summary otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from callcenter.config import Config
from callcenter.ivr.validator import check_flow_set


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``check-flows``."""
    parser.add_argument("path", nargs="?", type=Path, default=None,
                        help="a flow file or a folder of *.yaml flows "
                             "(default: ivr.flows_dir of the configuration)")


def run(args: argparse.Namespace, config: Config) -> int:
    """Validate the flows; print errors to stdout; 1 if any, else 0."""
    path: Path = args.path if args.path is not None else Path(config.ivr.flows_dir)
    flows, errors = check_flow_set(path)
    if errors or flows is None:
        for error in errors:
            print(error)
        print(f"{len(errors)} error(s) in {path}", file=sys.stderr)
        return 1
    names = sorted(flows.flows)
    print(f"ok: {len(names)} flow(s) in {path} valid ({', '.join(names)})")
    return 0
