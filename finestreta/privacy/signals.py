"""Audit hooks (logins, admin changes). Filled in by the audit log work."""
