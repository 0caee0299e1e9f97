"""``rackwatch agent host|gpu``: publish this machine, or its NVIDIA GPUs, as a GPU node.

Exit status: 0 after a clean stop (Ctrl-C or SIGTERM: ``offline`` is published first),
2 for bad input, 3 when NVML, its library or the driver is not available (``agent gpu``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from typing import Any

from console.commands.connection_args import add_connection_arguments, connection_settings
from sensors.topics import DEFAULT_PREFIX

NVML_UNAVAILABLE = 3


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0: {text!r}")
    return value


def _keepalive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 s: {text!r}")
    return value


def _add_common(parser: argparse.ArgumentParser) -> None:
    add_connection_arguments(parser)
    parser.add_argument("--interval", type=_positive, default=5.0, metavar="S",
                        help="seconds between reports (default 5; the wire contract expects 1-10)")
    parser.add_argument("--keepalive", type=_keepalive, default=15, metavar="S",
                        help="MQTT keepalive: if this machine or its link goes silent, the broker "
                             "publishes 'offline' about 1.5 x this later (default 15)")
    place = parser.add_argument_group(
        "place", "Where the node sits: its topic is PREFIX/SITE/HALL/ROW/RACK/node/NODE. Characters "
                 "outside [A-Za-z0-9_-] are replaced by '-'.")
    place.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"topic prefix (default {DEFAULT_PREFIX})")
    place.add_argument("--site", default="s1", help="site (default s1)")
    place.add_argument("--hall", default="h1", help="hall (default h1)")
    place.add_argument("--row", default="r00", help="row (default r00)")
    place.add_argument("--rack", help="rack (default: the node name)")
    place.add_argument("--node", help="node (default: this machine's short host name)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every connection step")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "agent",
        help="publish this machine (psutil) or its GPUs (NVML) to a broker",
        description="Publish this machine as a GPU node of the wire contract: telemetry every "
                    "--interval, retained meta and online/offline status (also the MQTT will).",
        epilog="Stop with Ctrl-C: the agent publishes 'offline' and exits 0.",
    )
    kinds = parser.add_subparsers(dest="agent", metavar="KIND", required=True)
    host = kinds.add_parser(
        "host",
        help="CPU temperature and load, memory, fan, battery, RAPL power via psutil",
        description="Publish this machine's CPU temperature, CPU and memory use, fan duty, battery "
                    "and RAPL power as a node with no GPUs. A metric the platform does not expose "
                    "is sent as null.",
    )
    _add_common(host)
    host.set_defaults(run=run_host)
    gpu = kinds.add_parser(
        "gpu",
        help="every NVIDIA GPU through NVML (needs nvidia-ml-py and the driver)",
        description="Publish every NVIDIA GPU of this machine through NVML: temperatures, power, "
                    "utilisation, SM clock, ECC, throttle reasons and XID events; limits as meta. "
                    "Needs 'pip install rackwatch[gpu]' and the NVIDIA driver; exits 3 without them.",
    )
    _add_common(gpu)
    gpu.set_defaults(run=run_gpu)


def _setup(args: argparse.Namespace) -> tuple[Any, Any]:
    """Settings and place from the arguments (a bad broker option is the CLI's usage error)."""
    from sensors.agents.publisher import NodePlace

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="rackwatch agent: %(message)s", stream=sys.stderr)
    settings = dataclasses.replace(connection_settings(args), keepalive=args.keepalive)
    place = NodePlace.of(node=args.node, rack=args.rack, prefix=args.prefix, site=args.site,
                         hall=args.hall, row=args.row)
    return settings, place


def _log_callback_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """One line, not a traceback, for an error in a loop callback.

    paho's socket callbacks can fire on a socket the broker already closed ("Bad file
    descriptor" in add_writer); the publish loop then reconnects, so it is worth a line only.
    """
    error = context.get("exception")
    logging.getLogger(__name__).info("%s%s", context.get("message"), f": {error!r}" if error else "")


def _serve(source: Any, settings: Any, place: Any, interval: float) -> int:
    """Publish ``source`` until SIGINT or SIGTERM, then close it; 0 after a clean stop."""
    from sensors.agents.publisher import NodeAgent, publish_over_mqtt

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(_log_callback_error)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"rackwatch agent: publishing {place.topic} to {settings.url} every {interval:g} s "
              "(Ctrl-C stops)", file=sys.stderr)
        await publish_over_mqtt(NodeAgent(place.topic, source, interval), settings, stop)

    try:
        asyncio.run(main())
    finally:
        source.close()
    return 0


def run_host(args: argparse.Namespace) -> int:
    from sensors.agents.host import HostSampler

    settings, place = _setup(args)
    return _serve(HostSampler(), settings, place, args.interval)


def run_gpu(args: argparse.Namespace) -> int:
    from sensors.agents.gpu import GpuSampler, NvmlUnavailable, load_nvml

    settings, place = _setup(args)
    try:
        source = GpuSampler(load_nvml())
    except NvmlUnavailable as error:
        print(f"rackwatch agent gpu: {error}", file=sys.stderr)
        return NVML_UNAVAILABLE
    return _serve(source, settings, place, args.interval)
