"""The Disposal tab: the records due for disposal, ticked, confirmed, marked destroyed.
What runs in its worker threads is usecases/disposing.py, as for `due` and `destroy`.

- model.py: the due records with a tick column (ticks keyed by row key) and its filter;
- view.py: their table view (Space and the context menu tick the selected rows);
- loading.py: the list's pages, the sign-off export and the signed-off import;
- destroying.py: the confirmation, the destroy run, its outcome, retry;
- confirm_dialog.py: the confirmation (justification, operator, typed count);
- outcome.py: each record's outcome, the certificate and "Retry failed";
- flow.py: a wrapping row layout, so the controls fit a small window;
- tab.py: the tab that puts them together.
"""
