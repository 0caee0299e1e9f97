"""The broker options every networked subcommand shares, and turning them into settings."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sensors.broker_url import BrokerUrlError, parse_broker_url
from sensors.mqtt_client import (
    PASSWORD_ENV,
    USERNAME_ENV,
    ConnectionSettings,
    CredentialsError,
    read_credentials,
)


def add_connection_arguments(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    group = parser.add_argument_group(
        "broker",
        f"Credentials come from ${USERNAME_ENV} and ${PASSWORD_ENV} or --password-file, "
        "never from the command line.",
    )
    group.add_argument(
        "--broker",
        default=default,
        required=default is None,
        metavar="URL",
        help="broker address, mqtt://host:1883 or mqtts://host:8883"
        + (f" (default {default})" if default else ""),
    )
    group.add_argument("--ca-file", type=Path, metavar="FILE", help="CA certificate for mqtts://")
    group.add_argument("--cert-file", type=Path, metavar="FILE", help="client certificate (PEM)")
    group.add_argument("--key-file", type=Path, metavar="FILE", help="client private key (PEM)")
    group.add_argument(
        "--insecure",
        action="store_true",
        help="do NOT verify the broker's certificate (prints a warning; for lab use only)",
    )
    group.add_argument("--password-file", type=Path, metavar="FILE", help="file holding the password")


def connection_settings(args: argparse.Namespace, url: str | None = None) -> ConnectionSettings:
    """Settings from parsed arguments; a bad value becomes the CLI's usage error."""
    from console.cli import UsageError

    try:
        broker = parse_broker_url(url or args.broker)
        username, password = read_credentials(args.password_file)
    except (BrokerUrlError, CredentialsError) as error:
        raise UsageError(str(error)) from None
    for path in (args.ca_file, args.cert_file, args.key_file):
        if path is not None and not path.is_file():
            raise UsageError(f"no such file: {path}")
    if args.insecure:
        print(
            "WARNING: --insecure: the broker's certificate is not verified; "
            "anyone on the path can read and forge telemetry.",
            file=sys.stderr,
        )
    return ConnectionSettings(
        url=broker,
        username=username,
        password=password,
        ca_file=args.ca_file,
        cert_file=args.cert_file,
        key_file=args.key_file,
        insecure=args.insecure,
    )
