"""The `localctl` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from localctl.config.describe import describe
from localctl.config.loader import ConfigError, load_config
from localctl.config.model import LocalctlConfig, RelayConfig
from localctl.io.relay_server import RelayServer
from localctl.logs import configure_logging
from localctl.relay.schemas import SchemaRegistry, actions_of
from localctl.relay.versions import OcppVersion

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

    demo = commands.add_parser(
        "demo", help="controller, stub CSMS and simulated stations on loopback"
    )
    demo.add_argument("--stations", type=int, default=4, help="number of simulated stations")
    demo.add_argument("--duration-s", type=float, default=None, help="stop after this many seconds")
    demo.set_defaults(command=_demo)
    return parser


def _run(args: argparse.Namespace) -> int:
    config = _config_from_args(args)
    return asyncio.run(_serve(config))


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
    if config.relay.log_traffic:
        logging.getLogger("localctl.traffic").setLevel(logging.INFO)
    else:
        logging.getLogger("localctl.traffic").setLevel(logging.WARNING)
    schemas = SchemaRegistry()
    for version in (OcppVersion.V16, OcppVersion.V201):
        schemas.warm(version, actions_of(version))  # no compile pause on the first messages
    stop = _stop_on_signals()
    async with RelayServer(config.relay, schemas) as server:
        host = config.relay.listen_host
        log.info(
            "listening for stations on ws://%s:%d/, relaying to %s",
            host,
            server.port,
            config.relay.upstream_url,
        )
        await stop.wait()
        log.info("shutting down: closing station and upstream connections")
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
    return 0


def _demo(args: argparse.Namespace) -> int:
    from localctl.demo import run_demo

    exit_code: int = asyncio.run(run_demo(station_count=args.stations, duration_s=args.duration_s))
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
