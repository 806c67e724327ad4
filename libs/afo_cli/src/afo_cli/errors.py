"""The one error the CLI turns into a message and exit code 1: the platform could not do what was asked."""


class PlatformError(RuntimeError):
    pass
