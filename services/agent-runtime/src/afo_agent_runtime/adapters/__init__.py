"""Adapters: the agent runtime's connections to providers outside the process."""
