from core.access import accounts_mode


def access(request):
    """Pages show the account link and the sign-out button only in accounts mode."""
    return {"accounts_mode": accounts_mode()}
