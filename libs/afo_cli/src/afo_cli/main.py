"""The ``afo`` command: argument parsing and dispatch to one module per subcommand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from afo_cli.commands import demo, down, nats, operator, schemas, status, streams, up, vault

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="afo",
        description="Run AFO on this machine. Configuration is read from AFO_* environment variables.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def add(name: str, command: Command, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(command=command)
        return sub

    up_command = add("up", up.run, "start NATS and every service, print their URLs, supervise until Ctrl-C "
                     "(AFO_HOME, AFO_HTTP_PORT, AFO_NATS_URL or AFO_NATS_PORT)")
    up_command.add_argument("--cluster", action="store_true",
                            help="start a JetStream cluster of three nats-servers, streams replicated on each "
                                 "(AFO_NATS_NODES=3)")
    add("status", status.run, "show the services of the running `afo up`; exit 1 if it is not running")
    add("down", down.run, "stop the running `afo up` and everything it started")
    add("demo", demo.run, "create a demo tenant, agent and conversation on the running gateway "
        "(AFO_GATEWAY_URL or AFO_HTTP_PORT)")

    schema_commands = commands.add_parser("schemas", help="event and RPC schemas").add_subparsers(
        metavar="ACTION", required=True
    )
    export = schema_commands.add_parser(
        "export", help="write JSON Schemas and the AsyncAPI document", description="write DIR/schemas/events/"
        "<type>.json, DIR/schemas/rpc/<service>.<operation>.{request,response}.json and DIR/asyncapi.json",
    )
    export.add_argument("--out", default="docs", metavar="DIR", help="output folder (default: docs)")
    export.set_defaults(command=schemas.run)

    stream_commands = commands.add_parser("streams", help="JetStream streams").add_subparsers(
        metavar="ACTION", required=True
    )
    ensure = stream_commands.add_parser(
        "ensure", help="create or update every stream on AFO_NATS_URL (replicas: AFO_STREAM_REPLICAS)"
    )
    ensure.set_defaults(command=streams.run)
    nats.add_commands(commands)
    vault.add_commands(commands)
    operator.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Command = args.command
    return command(args)


if __name__ == "__main__":
    sys.exit(main())
