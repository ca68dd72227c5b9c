"""Verify the configured engine: credentials and, for VolcEngine, each catalogue model's activation, with
one free call per model. Never prints a secret key."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from generation import imaging
from generation.catalogue import get_model
from generation.engines import configured_engine_name, engine_named, get_engine
from generation.engines.base import EngineRequest
from generation.engines.preview import PreviewEngine
from generation.engines.volcengine import probe_model
from generation.offering import offered_models


def mask(key: str) -> str:
    return f"{key[:4]}…{key[-2:]} ({len(key)} characters)" if len(key) > 8 else "(set)"


class _NoProgress:
    """Progress for a check run outside any task: nothing to report, never cancelled."""

    def stage(self, stage, *, fraction=None, upstream_task_id=""):
        pass

    def cancelled(self):
        return False

    def extend(self, seconds):
        pass


class Command(BaseCommand):
    help = (
        "Check the engine configuration. VolcEngine: the credentials and which catalogue models the account "
        "can use (one free call per model). Preview engine: renders one small image and its thumbnail "
        "offline. Exits non-zero when something is unusable."
    )

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
                "preview engine: images are synthetic; set VOLC_ACCESSKEY and VOLC_SECRETKEY (VolcEngine) or "
                "ARK_API_KEY (Ark) for real ones."
            ))
            self._check_preview_render()
            return
        if "ark" in name.split("+"):
            ark = engine_named("ark").check()
            if not ark.get("ok"):
                raise CommandError(f"the Ark engine is not configured: {ark.get('detail')}")
            # Ark has no free call that checks a model (every image request is billed); a request without a
            # prompt makes nothing and still tells whether the key is accepted.
            ark_models = [m for m in offered_models() if m.engine == "ark"]
            state, detail = engine_named("ark").probe_key(ark_models[0].id)
            self.stdout.write(f"ark: API key {mask(settings.ARK_API_KEY)}, {ark.get('detail', '')}: {state} "
                              f"({detail}); Ark models are not probed (no free call exists)")
            if state != "ok":
                raise CommandError(f"Ark refused or could not be asked: {state}: {detail}")
            if "volcengine" not in name.split("+"):
                return
            engine = engine_named("volcengine")
        self.stdout.write(f"access key: {mask(settings.VOLC_ACCESSKEY)}")
        cv_models = [m for m in offered_models() if m.engine == "volcengine"]
        models = [get_model(m) for m in opts["model"]] if opts["model"] else cv_models
        if any(m is None for m in models):
            raise CommandError("unknown model; see GET /api/v1/models for the ids")
        if any(m.engine != "volcengine" for m in models):
            raise CommandError("only VolcEngine CV models can be probed; Ark has no free call that checks a model")
        failures = {"not_activated": 0, "error": 0}
        width = max(len(m.id) for m in models)
        for model in models:
            state, detail = probe_model(engine, model.id)
            line = f"  {model.id:<{width}}  {model.action:<5}  {state}"
            if state == "ok":
                self.stdout.write(self.style.SUCCESS(line))
                continue
            failures["not_activated" if state == "not_activated" else "error"] += 1
            self.stdout.write(self.style.ERROR(f"{line}  — {detail}"))
            if state == "auth_failed":
                raise CommandError("the credentials were refused; check VOLC_ACCESSKEY / VOLC_SECRETKEY "
                                   "(and the machine's clock)")
        # Advice only where it fits: activating a model does nothing for a rate limit or a server error.
        problems = []
        if failures["not_activated"]:
            problems.append(f"{failures['not_activated']} of {len(models)} models are not activated for this account: "
                            "activate them in the VolcEngine console (视觉智能 / 即梦AI) or pick another model")
        if failures["error"]:
            problems.append(f"{failures['error']} of {len(models)} models could not be checked (the service answered "
                            "with another error, shown above: a rate limit, a refusal or a server error); "
                            "run check_engine again later")
        if problems:
            raise CommandError("; ".join(problems))
        self.stdout.write(self.style.SUCCESS(f"all {len(models)} models usable"))

    def _check_preview_render(self):
        """Render one small preview image and its thumbnail: Pillow, PNG and WebP work on this machine."""
        started = time.perf_counter()
        request = EngineRequest(
            model="jimeng_t2i_v31", action="async", prompt="check_engine", negative_prompt=None, width=256,
            height=256, upstream_width=256, upstream_height=256, use_sr=False, num_images=1, steps=None,
            scale=None, seed=1, enhance_prompt=None,
        )
        try:
            data = PreviewEngine(latency=0).generate(request, _NoProgress()).images[0]
            info = imaging.inspect_image(data)
            thumb, _w, _h = imaging.make_thumbnail(data, max_side=64)
        except Exception as err:
            raise CommandError(f"the preview engine could not render an image: {type(err).__name__}: {err}") from err
        took = (time.perf_counter() - started) * 1000
        self.stdout.write(self.style.SUCCESS(
            f"preview render ok: {info.width}x{info.height} {info.format} ({len(data)} bytes) and a "
            f"{len(thumb)}-byte WebP thumbnail in {took:.0f} ms"
        ))
