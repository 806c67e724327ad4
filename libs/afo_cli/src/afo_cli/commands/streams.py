"""``afo streams ensure``: create or update the JetStream streams on the NATS at ``AFO_NATS_URL``, as the
admin user (``AFO_NATS_NKEY_SEED``, else the admin seed under ``AFO_HOME``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from afo_cli.errors import PlatformError
from afo_cli.nats_admin import ensure_streams_at
from afo_cli.nats_auth import env_auth
from afo_cli.platform_config import home_from_env

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


def run(_args: argparse.Namespace) -> int:
    url = os.environ.get("AFO_NATS_URL") or DEFAULT_NATS_URL
    try:
        replicas = int(os.environ.get("AFO_STREAM_REPLICAS") or 1)
        infos = asyncio.run(ensure_streams_at(url, replicas, env_auth(os.environ, home_from_env())))
    except (PlatformError, ValueError) as exc:
        print(f"afo streams ensure: {exc}", file=sys.stderr)
        return 1
    print(f"streams on {url} (replicas {replicas}):")
    for info in infos:
        subjects = ", ".join(info.config.subjects or [])
        print(f"  {info.config.name:<14} {info.state.messages:>8} messages  {subjects}")
    return 0
