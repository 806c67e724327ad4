"""``afo vault rotate``: a new current key for the gateway's credential vault in $AFO_HOME/vault.key;
``afo vault retire``: drop the old keys once the gateway has encrypted every record again."""

from __future__ import annotations

import argparse
import os
from typing import Any

from afo_cli import vault_keys
from afo_cli.platform_config import home_from_env


def add_commands(commands: Any) -> None:
    vault = commands.add_parser("vault", help="the gateway's credential vault keys").add_subparsers(
        metavar="ACTION", required=True)
    rotate_parser = vault.add_parser(
        "rotate", help=f"add a new current key to $AFO_HOME/{vault_keys.FILE_NAME}; the old ones keep decrypting",
        description="The gateway takes the new key at its next start (restart it, or `afo down` and `afo up`) "
                    "and then encrypts every record again under it, at start and periodically.")
    rotate_parser.set_defaults(command=rotate)
    retire_parser = vault.add_parser("retire", help="drop every key but the newest (after the re-encryption)")
    retire_parser.add_argument("--keep", type=int, default=1, help="how many of the newest keys to keep")
    retire_parser.set_defaults(command=retire)


def rotate(_args: argparse.Namespace) -> int:
    if os.environ.get(vault_keys.VARIABLE):
        print(f"{vault_keys.VARIABLE} is set: rotate by putting a new key in front of it (id:base64,...)")
        return 1
    home = home_from_env()
    try:
        key_id = vault_keys.rotate(home)
    except FileNotFoundError as exc:
        print(exc)
        return 1
    print(f"new vault key {key_id} in {vault_keys.key_path(home)}; restart the gateway to use it")
    return 0


def retire(args: argparse.Namespace) -> int:
    home = home_from_env()
    try:
        dropped = vault_keys.retire(home, args.keep)
    except FileNotFoundError as exc:
        print(exc)
        return 1
    print(f"dropped vault key(s): {', '.join(dropped) or 'none'}")
    return 0
