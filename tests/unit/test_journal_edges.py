"""Behaviour of the journal module that the main tests leave open (found by make mutate)."""

from __future__ import annotations
