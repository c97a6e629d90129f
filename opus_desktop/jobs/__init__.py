"""Runs: submitting records and marking them destroyed, with nothing lost on the way.

A run is a plain function or class that takes a journal, a client and a `RunState`:

- `journal.Journal` (SQLite) holds every run and every record's state, committed before
  and after each call to the service, so a run interrupted by a crash resumes where it
  stopped and a record stored once is never sent again; it also keeps the editor's
  unsent work (drafts).
- `audit.AuditLog` is the append-only, hash-chained log of every disposal.
- `state.RunState` carries progress, rate, time left, cancel and one result per batch
  between the run's thread and whoever watches it (a QThread worker, the CLI).
- `errors` holds the exception tree of this layer.

Nothing here imports Qt or talks to the network itself.
"""
