from generation.engines import get_engine


def engine(request):
    """Every page says which engine runs, so a preview is never mistaken for real output."""
    current = get_engine()
    return {"engine_name": current.name, "engine_label": current.label, "engine_is_preview": current.is_preview}
