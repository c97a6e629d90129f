"""Pure-Python domain code: templates, values, sheets, mapping, records. No Qt, no network."""
