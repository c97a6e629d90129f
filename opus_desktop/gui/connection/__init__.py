"""The connection panel: profiles, the profile dialog, the connection test, the columns.

panel        ConnectionPanel: choose, add, edit, remove profiles; test; columns
profile_dialog   ProfileDialog: every profile setting, checked as it is typed
options_editor   OptionsEditor: choice options and term lists per column
columns      ColumnsModel: the template's columns, read-only
test_worker  the connection test as a Task, reporting each step as it happens
password_dialog  asks for a certificate password, optionally kept in the keyring
"""
