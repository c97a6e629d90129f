"""The Disposal tab: the records due for disposal, ticked, confirmed, marked destroyed.

- model.py: the due records with a tick column (ticks keyed by row key) and its filter;
- view.py: their table view;
- tasks.py: what runs in worker threads, over jobs.disposal (as the CLI's due/destroy);
- confirm_dialog.py: the confirmation (justification, operator, typed count);
- outcome.py: each record's outcome, the certificate and "Retry failed";
- tab.py: the tab that puts them together.
"""
