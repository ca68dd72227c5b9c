"""How the OpenAPI schema describes sign-in: in accounts mode, a bearer token or the browser's session;
in open mode no operation asks for credentials (so a client or a fuzzer sees the API as it behaves)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from core.access import accounts_mode


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "An API token from the account page (/account); accounts mode only."}

    def get_security_requirement(self, auto_schema):
        return {self.name: []} if accounts_mode() else None


class BrowserSessionScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.csrf.BrowserCsrfCheck"
    name = "sessionAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid",
                "description": "The signed-in browser's session (accounts mode); writes need X-CSRFToken."}

    def get_security_requirement(self, auto_schema):
        return {self.name: []} if accounts_mode() else None
