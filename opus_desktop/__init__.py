"""Opus Desktop: a desktop client for the AvePoint Opus connector API."""

__version__ = "0.1.0"
APP_NAME = "Opus Desktop"
