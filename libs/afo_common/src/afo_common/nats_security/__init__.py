"""Least-privilege NATS: who may publish and subscribe to what (``permissions``), the credentials that prove
it (``credentials``), the nats-server configuration generated from both (``server_config``), how a client
connects with them (``client``), and the JWTs of the auth callout that admits integrators (``jwt``)."""
