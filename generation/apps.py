from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = _("Generation")

    def ready(self):
        # In ready(), Django's way: the receivers connect once the models are loaded.
        from . import quotas, signals, spending  # noqa: F401  (a quota row for every new user; worker start-up hooks)

        # A malformed money cap stops every process at start, not the first creation it would have refused.
        spending.site_caps()
