"""One module per ``afo`` subcommand; each exposes ``run(args) -> exit code``."""
