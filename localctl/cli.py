"""The `localctl` command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from localctl.config.describe import describe
from localctl.config.loader import ConfigError, load_config
from localctl.config.model import LocalctlConfig, RelayConfig
from localctl.config.reference import reference_markdown
from localctl.config.weaknesses import weaknesses
from localctl.logs import configure_logging
from localctl.security.passwords import hash_password, password_problem
from localctl.service import Controller

log = logging.getLogger("localctl")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    try:
        exit_code: int = args.command(args)
    except ConfigError as exc:
        print(f"localctl: {exc}", file=sys.stderr)
        return 2
    return exit_code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="localctl", description="OCPP local smart-charging controller"
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument("--log-format", choices=["text", "json"], default="text")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the controller")
    run.add_argument("--config", type=Path, help="configuration file (YAML)")
    run.add_argument("--listen", help="HOST:PORT for stations (no config file: a pure relay)")
    run.add_argument("--upstream", help="CSMS URL, ws:// or wss:// (no config file: a pure relay)")
    run.add_argument(
        "--strict", action="store_true", help="answer schema-invalid calls with CALLERROR"
    )
    run.add_argument("--log-traffic", action="store_true", help="log every relayed frame")
    run.set_defaults(command=_run)

    check = commands.add_parser("check-config", help="validate a configuration file and print it")
    check.add_argument("file", type=Path)
    check.set_defaults(command=_check_config)

    reference = commands.add_parser(
        "config-reference", help="print every configuration key with its default and meaning"
    )
    reference.set_defaults(command=_config_reference)

    hashing = commands.add_parser(
        "hash-password",
        help="read a station's basic-auth password (prompt, or one line on stdin) and print the "
        "hash for relay.station_security.stations[].password_hash",
    )
    hashing.set_defaults(command=_hash_password)

    demo = commands.add_parser(
        "demo", help="the closed loop on a simulated site (site-configs/demo.yaml), on loopback"
    )
    demo.add_argument("--relay-only", action="store_true", help="only relay, show every frame")
    demo.add_argument("--stations", type=int, default=4, help="stations, with --relay-only")
    demo.add_argument("--duration-s", type=float, default=None, help="stop after this many seconds")
    demo.set_defaults(command=_demo)
    return parser


def _run(args: argparse.Namespace) -> int:
    config = _config_from_args(args)
    return run_on_fastest_loop(_serve(config))


def run_on_fastest_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run `main` on uvloop where it is installed (a dependency except on Windows), else on
    asyncio's own loop. Most of what relaying a frame costs beyond the relay's own logic is
    event-loop work (readiness, reads, writes), which uvloop does in C."""
    try:
        import uvloop  # optional: not built for Windows
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def _config_from_args(args: argparse.Namespace) -> LocalctlConfig:
    if args.config is not None:
        if args.listen or args.upstream:
            raise ConfigError("give either --config or --listen/--upstream, not both")
        config = load_config(args.config)
    else:
        if not args.upstream:
            raise ConfigError("give --config FILE, or --upstream URL (and optionally --listen)")
        relay = {"upstream_url": args.upstream, **({"listen": args.listen} if args.listen else {})}
        try:
            config = LocalctlConfig(relay=RelayConfig.model_validate(relay))
        except ValidationError as exc:
            raise ConfigError(f"command line: {exc.errors()[0]['msg']}") from None
    overrides = {"strict": True} if args.strict else {}
    if args.log_traffic:
        overrides["log_traffic"] = True
    return config.model_copy(update={"relay": config.relay.model_copy(update=overrides)})


async def _serve(config: LocalctlConfig) -> int:
    traffic_level = logging.INFO if config.relay.log_traffic else logging.WARNING
    logging.getLogger("localctl.traffic").setLevel(traffic_level)
    controller = Controller(config)
    stop = _stop_on_signals()
    if hasattr(signal, "SIGHUP"):  # not on Windows
        reload = controller.relay.security.certificates.reload_all
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)
    running = asyncio.create_task(controller.run(stop))
    started = asyncio.create_task(controller.started.wait())
    await asyncio.wait([running, started], return_when=asyncio.FIRST_COMPLETED)
    if controller.started.is_set():
        host = config.relay.listen_host
        port = controller.relay.port
        upstream = config.relay.upstream_url
        scheme = "ws" if controller.relay.security.server_ssl is None else "wss"
        log.info(
            "listening for stations on %s://%s:%d/, relaying to %s", scheme, host, port, upstream
        )
    started.cancel()
    try:
        await running
    except OSError as exc:  # the listen port is taken, the address does not exist, ...
        log.error("cannot start: %s", exc)
        return 1
    log.info("stopped")
    return 0


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def _check_config(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    print(f"{args.file}: valid")
    for line in describe(config):
        print(line)
    for weakness in weaknesses(config):
        print(f"warning: {weakness}")
    return 0


def _hash_password(args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("localctl: the two passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    problem = password_problem(password)
    if problem is not None:
        print(f"localctl: {problem}", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def _config_reference(args: argparse.Namespace) -> int:
    print(reference_markdown(), end="")
    return 0


def _demo(args: argparse.Namespace) -> int:
    if args.relay_only:
        from localctl.demo_relay import run_relay_demo

        relay_exit: int = run_on_fastest_loop(
            run_relay_demo(station_count=args.stations, duration_s=args.duration_s)
        )
        return relay_exit
    from localctl.demo import run_demo

    exit_code: int = run_on_fastest_loop(run_demo(duration_s=args.duration_s))
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
