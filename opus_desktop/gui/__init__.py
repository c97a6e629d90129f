"""The PySide6 desktop window. Thin: everything it does goes through core/, opus/ and jobs/."""
