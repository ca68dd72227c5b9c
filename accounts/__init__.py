"""Accounts mode (IMAGEGEN_ACCESS=accounts): sign-in, API tokens, per-user ownership and quotas.

In the default open mode none of this applies: nobody signs in, everything is shared and owners are NULL.
"""
