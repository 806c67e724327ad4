"""The console: pages the gateway renders for a tenant's people (Jinja2 templates, htmx, a little of our own
JavaScript), served under ``/console``. Pages call the same handlers as the public API with the principal of
the session cookie, so a role sees in the console exactly what its key could read through ``/v1``.
Every asset is shipped with the project (``static/``, vendored libraries with their licences) and every page
is sent with a Content-Security-Policy that allows scripts, styles and connections from the gateway only."""
