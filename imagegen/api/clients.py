from rest_framework.throttling import BaseThrottle


def client_id(request) -> str:
    """Who is asking: the client address, honouring IMAGEGEN_NUM_PROXIES (DRF's NUM_PROXIES) only."""
    return BaseThrottle().get_ident(request) or "unknown"
