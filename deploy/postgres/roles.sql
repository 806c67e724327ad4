-- One PostgreSQL role and one database per service: afo_<service> owns afo_<service> and may connect to nothing
-- else (no other role but the superuser may connect to it); no service's URL names the superuser.
--
-- Run as a superuser (or a role with CREATEROLE and CREATEDB) with psql 15 or later, each service's password in
-- the environment (URL-safe: openssl rand -hex 24). Idempotent: a second run creates nothing and sets the
-- passwords again (how to rotate one).
--   compose: runs once, when the postgres-data volume is created (docker-entrypoint-initdb.d); again with
--     docker compose exec postgres psql -U afo -d afo -f /docker-entrypoint-initdb.d/10-afo-roles.sql
--   Kubernetes (prod, PostgreSQL outside the namespace):
--     AFO_GATEWAY_DB_PASSWORD=... (the six) psql "postgresql://admin@postgres.example.internal/postgres" \
--       -f deploy/postgres/roles.sql
--     then put each URL, postgresql+asyncpg://afo_<service>:<password>@host:5432/afo_<service>, in the
--     service's Secret afo-<service> (deploy/README.md, "Secrets").
\set ON_ERROR_STOP on

\unset password
\set role afo_gateway
\set password_variable AFO_GATEWAY_DB_PASSWORD
\getenv password AFO_GATEWAY_DB_PASSWORD
\ir service-role.psql

\unset password
\set role afo_agent_runtime
\set password_variable AFO_AGENT_RUNTIME_DB_PASSWORD
\getenv password AFO_AGENT_RUNTIME_DB_PASSWORD
\ir service-role.psql

\unset password
\set role afo_voice_media
\set password_variable AFO_VOICE_MEDIA_DB_PASSWORD
\getenv password AFO_VOICE_MEDIA_DB_PASSWORD
\ir service-role.psql

\unset password
\set role afo_knowledge_ingest
\set password_variable AFO_KNOWLEDGE_INGEST_DB_PASSWORD
\getenv password AFO_KNOWLEDGE_INGEST_DB_PASSWORD
\ir service-role.psql

\unset password
\set role afo_workflow_executor
\set password_variable AFO_WORKFLOW_EXECUTOR_DB_PASSWORD
\getenv password AFO_WORKFLOW_EXECUTOR_DB_PASSWORD
\ir service-role.psql

\unset password
\set role afo_notifier
\set password_variable AFO_NOTIFIER_DB_PASSWORD
\getenv password AFO_NOTIFIER_DB_PASSWORD
\ir service-role.psql

\unset password
