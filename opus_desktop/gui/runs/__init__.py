"""The Runs tab: the journal's runs and the records of each (tab, models)."""
