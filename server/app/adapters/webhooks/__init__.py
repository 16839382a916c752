"""Outgoing webhook delivery over HTTP."""
