"""``afo operator add EMAIL | list | remove EMAIL``: the platform's operators, who open the console's admin area
(tenants, health, consumer lag, dead letters, anomalies). Asked of the running gateway over NATS as the admin user
(``AFO_NATS_NKEY_SEED``, else the admin seed under ``AFO_HOME``), on ``AFO_NATS_URL``, else the NATS of the running
``afo up``, else nats://127.0.0.1:4222. ``add`` prints the operator's first password: it is shown only then."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from afo_cli.errors import PlatformError
from afo_cli.nats_auth import env_auth
from afo_cli.operators import OperatorRefused, add_operator, list_operators, remove_operator
from afo_cli.platform_config import home_from_env
from afo_cli.run_state import read_state
from afo_common.nats_security.client import NatsAuth
from afo_common.rpcs.gateway_operators import OperatorAdded, OperatorView

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
T = TypeVar("T")


def nats_url() -> str:
    if url := os.environ.get("AFO_NATS_URL"):
        return url
    state = read_state(home_from_env())
    return state.nats_url if state is not None else DEFAULT_NATS_URL


def add(args: argparse.Namespace) -> int:
    def show(added: OperatorAdded) -> str:
        return (f"operator {added.operator.email} ({added.operator.id}) added\n"
                f"  password  {added.password}   (shown only now: give it to them privately)\n"
                f"  console   log in, then open the admin area (/console/admin)")

    return _run(lambda url, auth: add_operator(url, auth, args.email), show)


def listed(_args: argparse.Namespace) -> int:
    def show(operators: list[OperatorView]) -> str:
        if not operators:
            return "no operators yet: `afo operator add EMAIL` adds one"
        return "\n".join(f"{o.email}  {o.id}  since {o.created_at:%Y-%m-%d %H:%M} UTC" for o in operators)

    return _run(list_operators, show)


def remove(args: argparse.Namespace) -> int:
    def show(removed: OperatorView) -> str:
        return f"operator {removed.email} removed; their sessions have ended"

    return _run(lambda url, auth: remove_operator(url, auth, args.email), show)


def _run(call: Callable[[str, NatsAuth], Coroutine[Any, Any, T]], show: Callable[[T], str]) -> int:
    url = nats_url()
    try:
        result = asyncio.run(call(url, env_auth(os.environ, home_from_env())))
    except (PlatformError, OperatorRefused) as exc:
        print(f"afo operator: {exc}", file=sys.stderr)
        return 1
    print(show(result))
    return 0


def add_commands(commands: Any) -> None:
    operator = commands.add_parser("operator", help="the platform's operators (the console's admin area)")
    actions = operator.add_subparsers(metavar="ACTION", required=True)
    adding = actions.add_parser("add", help="add an operator and print their first password")
    adding.add_argument("email")
    adding.set_defaults(command=add)
    actions.add_parser("list", help="list the operators").set_defaults(command=listed)
    removing = actions.add_parser("remove", help="remove an operator and end their sessions")
    removing.add_argument("email")
    removing.set_defaults(command=remove)
