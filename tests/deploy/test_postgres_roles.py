"""deploy/postgres/roles.sql on a real, throwaway PostgreSQL server: each service gets a role that owns its own
database, can build its schema there, and can reach no other service's database; the script is idempotent (a rerun
rotates passwords) and refuses to run without every password.

The server is started here (initdb + pg_ctl on a free port, in a temporary folder), so nothing touches a shared
one; as root it runs as the system's `postgres` user, since PostgreSQL refuses root. Skipped, saying why, without
the PostgreSQL server binaries or psql 15+ (the script uses psql's \\getenv)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROLES_SQL = ROOT / "deploy" / "postgres" / "roles.sql"
SERVICES = ("gateway", "agent-runtime", "voice-media", "knowledge-ingest", "workflow-executor", "notifier")


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


@dataclass(frozen=True)
class Server:
    socket_dir: Path
    port: int
    psql: str

    def run_roles(self, passwords: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """roles.sql as the superuser, the way compose's entrypoint runs it (ON_ERROR_STOP, no psqlrc)."""
        env = {k: v for k, v in os.environ.items() if not k.endswith("_DB_PASSWORD")} | passwords
        return subprocess.run(
            [self.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir), "-p", str(self.port),
             "-U", "admin", "-d", "postgres", "-f", str(ROLES_SQL)],
            env=env, capture_output=True, text=True, check=False, timeout=60)

    def as_role(self, role: str, password: str, database: str, sql: str) -> subprocess.CompletedProcess[str]:
        """Over TCP with a password (scram-sha-256), as a service connects."""
        return subprocess.run(
            [self.psql, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
             "-U", role, "-d", database, "-c", sql],
            env={**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"},
            capture_output=True, text=True, check=False, timeout=60)

    def admin(self, sql: str) -> str:
        proc = subprocess.run(
            [self.psql, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir), "-p",
             str(self.port), "-U", "admin", "-d", "postgres", "-c", sql],
            capture_output=True, text=True, check=True, timeout=60)
        return proc.stdout.strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    initdb, pg_ctl, psql = _tool("initdb"), _tool("pg_ctl"), _tool("psql")
    if not (initdb and pg_ctl and psql):
        pytest.skip("PostgreSQL's initdb, pg_ctl and psql are not installed here")
    version = subprocess.run([psql, "--version"], capture_output=True, text=True, check=True).stdout
    major = re.search(r"(\d+)(?:\.\d+)*", version)
    if not major or int(major.group(1)) < 15:
        pytest.skip(f"roles.sql needs psql 15 or later (\\getenv), this is {version.strip()}")
    prefix: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None or subprocess.run(["id", "-u", "postgres"], capture_output=True).returncode != 0:
            pytest.skip("running as root without a postgres user to run the server as")
        prefix = [runuser, "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="afo-roles-", dir="/tmp"))
    folder.chmod(0o755)
    if prefix:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", _free_port()
    try:
        subprocess.run([*prefix, initdb, "-D", str(data), "-U", "admin", "--auth-local=trust",
                        "--auth-host=scram-sha-256"], capture_output=True, text=True, check=True, timeout=120)
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60", "-o",
                        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                       capture_output=True, text=True, check=True, timeout=120)
        yield Server(folder, port, psql)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, check=False, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def role_of(service: str) -> str:
    return "afo_" + service.replace("-", "_")


def variable_of(service: str) -> str:
    return f"AFO_{service.upper().replace('-', '_')}_DB_PASSWORD"


def test_each_service_owns_its_database_and_reaches_no_other(server: Server) -> None:
    passwords = {variable_of(s): f"pw-{s}-1" for s in SERVICES}
    first = server.run_roles(passwords)
    assert first.returncode == 0, first.stderr
    for service in SERVICES:
        role, password = role_of(service), passwords[variable_of(service)]
        # Its migrations can build the schema in its own database...
        made = server.as_role(role, password, role, "CREATE TABLE migrated (id int); SELECT current_user")
        assert made.returncode == 0 and made.stdout.strip() == role, made.stderr
        # ...and nothing else is open to it.
        other = role_of(SERVICES[(SERVICES.index(service) + 1) % len(SERVICES)])
        refused = server.as_role(role, password, other, "SELECT 1")
        assert refused.returncode != 0 and "permission denied for database" in refused.stderr, refused.stderr
        wrong = server.as_role(role, "not-its-password", role, "SELECT 1")
        assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr
    attributes = server.admin(
        "SELECT string_agg(format('%s:%s%s%s%s', rolname, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls), ',' "
        "ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'afo\\_%'")
    assert attributes == ",".join(sorted(f"{role_of(s)}:ffff" for s in SERVICES))
    owners = server.admin("SELECT string_agg(datname || '=' || pg_get_userbyid(datdba), ',' ORDER BY datname) "
                          "FROM pg_database WHERE datname LIKE 'afo\\_%'")
    assert owners == ",".join(sorted(f"{role_of(s)}={role_of(s)}" for s in SERVICES))


def test_a_rerun_changes_nothing_but_the_passwords(server: Server) -> None:
    passwords = {variable_of(s): f"pw-{s}-2" for s in SERVICES}
    for _ in range(2):
        again = server.run_roles(passwords)
        assert again.returncode == 0, again.stderr
    role = role_of("notifier")
    assert server.as_role(role, "pw-notifier-2", role, "SELECT 1").returncode == 0
    assert server.as_role(role, "pw-notifier-1", role, "SELECT 1").returncode != 0, "the old password still works"
    assert server.admin("SELECT count(*) FROM pg_database WHERE datname LIKE 'afo\\_%'") == str(len(SERVICES))


def test_a_missing_password_stops_the_script_and_names_it(server: Server) -> None:
    passwords = {variable_of(s): f"pw-{s}-3" for s in SERVICES if s != "workflow-executor"}
    stopped = server.run_roles(passwords)
    assert stopped.returncode != 0
    assert "AFO_WORKFLOW_EXECUTOR_DB_PASSWORD is not set" in stopped.stderr, stopped.stderr
