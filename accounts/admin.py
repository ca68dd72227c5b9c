"""The staff console's pages for the accounts app's own tables: the access audit log. API tokens are shown
with their users' other settings (imagegen/people/admin.py)."""

from .audit import admin as audit_admin  # noqa: F401  (the access audit log)
