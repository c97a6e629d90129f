"""Sending the grid's rows to Opus: the submit panel, the run driver and its worker glue."""
