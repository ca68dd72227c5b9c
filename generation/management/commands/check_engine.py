"""Verify the configured engine: credentials and, for VolcEngine, each catalogue model's activation, with
one free call per model. Never prints a secret key."""

from django.core.management.base import BaseCommand, CommandError

from generation.catalogue import all_models, get_model
from generation.engines import configured_engine_name, get_engine


def mask(key: str) -> str:
    return f"{key[:4]}…{key[-2:]} ({len(key)} characters)" if len(key) > 8 else "(set)"


class Command(BaseCommand):
    help = "Check the engine configuration and, for VolcEngine, which models the account can use."

    def add_arguments(self, parser):
        parser.add_argument("--model", action="append", help="Check only this model (repeatable).")

    def handle(self, *args, **opts):
        engine = get_engine()
        name = configured_engine_name()
        config = engine.check()
        self.stdout.write(f"engine: {name} ({config.get('detail', '')})")
        if not config.get("ok"):
            raise CommandError(f"engine is not configured: {config.get('detail')}")
        if engine.is_preview:
            self.stdout.write(self.style.WARNING(
                "preview engine: images are synthetic; set VOLC_ACCESSKEY and VOLC_SECRETKEY for real ones."
            ))
            return
        from django.conf import settings

        from generation.engines.volcengine import probe_model

        self.stdout.write(f"access key: {mask(settings.VOLC_ACCESSKEY)}")
        models = [get_model(m) for m in opts["model"]] if opts["model"] else all_models()
        if any(m is None for m in models):
            raise CommandError("unknown model; see GET /api/v1/models for the ids")
        failures = 0
        width = max(len(m.id) for m in models)
        for model in models:
            state, detail = probe_model(engine, model.id)
            line = f"  {model.id:<{width}}  {model.action:<5}  {state}"
            if state == "ok":
                self.stdout.write(self.style.SUCCESS(line))
                continue
            failures += 1
            self.stdout.write(self.style.ERROR(f"{line}  — {detail}"))
            if state == "auth_failed":
                raise CommandError("the credentials were refused; check VOLC_ACCESSKEY / VOLC_SECRETKEY "
                                   "(and the machine's clock)")
        if failures:
            raise CommandError(
                f"{failures} of {len(models)} models are not usable: activate them in the VolcEngine console "
                "(视觉智能 / 即梦AI) or pick another model"
            )
        self.stdout.write(self.style.SUCCESS(f"all {len(models)} models usable"))
