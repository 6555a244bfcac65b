"""Reachout: a self-hosted outbound campaign engine that speaks Amazon Connect's wire APIs."""

__version__ = "0.1.0"
