"""Behaviour of the disposal module that the main tests leave open (found by make mutate)."""

from __future__ import annotations
