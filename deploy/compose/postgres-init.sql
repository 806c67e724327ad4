-- One PostgreSQL for compose, one database per service (each service owns its own; none is shared).
-- Runs once, when the postgres-data volume is created (docker-entrypoint-initdb.d).
CREATE DATABASE afo_gateway;
CREATE DATABASE afo_agent_runtime;
CREATE DATABASE afo_voice_media;
CREATE DATABASE afo_knowledge_ingest;
CREATE DATABASE afo_workflow_executor;
CREATE DATABASE afo_notifier;
