"""Helpers shared by the test suites: certificates, fakes."""
