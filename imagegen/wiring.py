"""The settings the environment does not change: templates, the API (DRF, drf-spectacular) and the content
security policy. imagegen/settings.py takes them from here and adds what the environment decides."""

from __future__ import annotations

from pathlib import Path

from django.utils.csp import CSP

from core.version import VERSION

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).resolve().parent.parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "imagegen.context_processors.engine",
                "accounts.context_processors.access",
            ],
        },
    },
]

# NUM_PROXIES comes from the environment (settings.py).
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.api_exception_handler",
    # The bearer class comes first: DRF takes the 401's WWW-Authenticate from the first class.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.BearerTokenAuthentication",
        "core.api.csrf.BrowserCsrfCheck",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.auth.SignedInIfRequired"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.StrictJSONParser"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "imagegen API",
    "DESCRIPTION": "Text-to-image generation through VolcEngine, as durable background tasks.",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two fields are named "kind": a share link's (image | task | board) keeps its name, a trash entry's
    # (task | image) is TrashEntryOutputKindEnum.
    "ENUM_NAME_OVERRIDES": {"KindEnum": "gallery.models.ShareLink.Kind"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "gallery.openapi.add_image_file_paths",
        "streaming.schema.add_stream_paths",
        "core.api.docs.add_signature_headers",
        "core.api.docs.merge_blank_alternatives",
    ],
}

# No inline script or style anywhere and no eval (the pages use Alpine's CSP build). The one hash allows
# the two identical style attributes in DRF's browsable-API template.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_HASHES, "'sha256-OfgyIBrd+/vP79JdFMYP+re4T+fIenvkrHPD2HZ8/cs='"],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
