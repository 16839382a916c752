"""Adapters: the concrete implementations of the domain ports."""
