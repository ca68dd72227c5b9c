"""/api/v1/account: the signed-in user, their quota and their API tokens (accounts mode; 404 when open)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.auth import BearerTokenAuthentication
from accounts.signing import signing_secret
from core.access import accounts_mode
from core.api.docs import ERROR_RESPONSES
from core.api.fields import StrictCharField, UtcDateTimeField
from core.api.throttling import ApiThrottle
from core.errors import ApplicationError, NotFound, RateLimited, ValidationFailed
from generation import quotas, spending

from . import personal_data
from .forms import PasswordConfirmForm
from .views import export_response


def _require_accounts() -> None:
    if not accounts_mode():
        raise NotFound(_("There are no accounts: this site runs in open mode."))


class DailyImagesOutput(serializers.Serializer):
    limit = serializers.IntegerField()
    used = serializers.IntegerField(help_text="Images requested today by tasks that count (see the README).")
    remaining = serializers.IntegerField()
    resets_at = UtcDateTimeField(help_text="When the count starts again: the next 00:00 UTC.")


class ConcurrentTasksOutput(serializers.Serializer):
    limit = serializers.IntegerField()
    used = serializers.IntegerField(help_text="Unfinished tasks now.")
    remaining = serializers.IntegerField()


class QuotaOutput(serializers.Serializer):
    daily_images = DailyImagesOutput()
    concurrent_tasks = ConcurrentTasksOutput()


class SpendingCapOutput(serializers.Serializer):
    """A spending cap that applies to the user (the site's and their own), with what is left of it."""

    cap = serializers.CharField(help_text="site_daily_images, user_monthly_money_CNY, …")
    scope = serializers.CharField(help_text="site or user")
    period = serializers.CharField(help_text="day or month (UTC)")
    unit = serializers.CharField(help_text="images or money")
    currency = serializers.CharField(allow_null=True)
    limit = serializers.DecimalField(max_digits=20, decimal_places=6, coerce_to_string=True, normalize_output=True)
    used = serializers.DecimalField(max_digits=20, decimal_places=6, coerce_to_string=True, normalize_output=True)
    remaining = serializers.DecimalField(max_digits=20, decimal_places=6, coerce_to_string=True, normalize_output=True)
    resets_at = UtcDateTimeField()


class AccountOutput(serializers.Serializer):
    username = serializers.CharField()
    is_staff = serializers.BooleanField()
    quota = QuotaOutput()
    spending_caps = SpendingCapOutput(many=True)


class AccountApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="account_get", summary="The signed-in user, their quotas and what is left today, and what is left of each spending cap",
                   responses={200: AccountOutput, **ERROR_RESPONSES})
    def get(self, request):
        _require_accounts()
        user = request.user
        return Response(AccountOutput(
            {"username": user.get_username(), "is_staff": user.is_staff, "quota": quotas.quota_usage(user=user),
             "spending_caps": spending.usage(spending.caps_for(user), user=user)}
        ).data)


class SpendingCapListApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="spending_caps", summary="What is left of each spending cap that applies to you",
                   description="The site's caps (IMAGEGEN_CAP_*) and, in accounts mode, your own; in both access "
                   "modes. The same list as GET /api/v1/account's spending_caps; empty when no cap is set.",
                   responses={200: SpendingCapOutput(many=True), **ERROR_RESPONSES})
    def get(self, request):
        return Response(SpendingCapOutput(spending.usage(spending.caps_for(request.user), user=request.user),
                                          many=True).data)


class TokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The token's first characters, to tell tokens apart.")
    created_at = UtcDateTimeField()
    last_used_at = UtcDateTimeField(allow_null=True, help_text="Recorded at most once a minute.")
    scopes = serializers.ListField(child=serializers.CharField(), source="scope_list",
                                   help_text="read (GET), generate (creating tasks), manage (every other change).")
    expires_at = UtcDateTimeField(allow_null=True, help_text="After this the token no longer works; null: never.")
    signing = serializers.BooleanField(help_text="Has a signing secret for HMAC-signed requests.")
    signature_required = serializers.BooleanField(help_text="Refuses requests that are not signed.")
    webhook = serializers.CharField(source="webhook_url", help_text="The webhook a task made with this token "
                                    "gets when its request names none; empty: none.")


class TokenCreateInput(serializers.Serializer):
    name = StrictCharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=services.SCOPES), required=False,
                                   allow_empty=False, max_length=3, default=list(services.SCOPES))
    expires_in_days = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                               max_value=services.MAX_EXPIRY_DAYS, default=None)
    signing = serializers.BooleanField(required=False, default=False)
    signature_required = serializers.BooleanField(required=False, default=False)
    webhook = StrictCharField(required=False, allow_blank=True, max_length=services.WEBHOOK_MAX_LENGTH, default="",
                              help_text="A default webhook for the tasks this token creates (README, \"Webhooks\").")


class TokenCreatedOutput(TokenOutput):
    token = serializers.CharField(help_text="The token itself. Shown this once; only its hash is kept.")
    signing_secret = serializers.CharField(required=False, help_text="A signing token's secret for the "
                                           "HMAC (README, \"Signed requests\"). Shown this once.")


class TokenListApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="token_list", summary="Your active API tokens",
                   responses={200: TokenOutput(many=True), **ERROR_RESPONSES})
    def get(self, request):
        _require_accounts()
        return Response(TokenOutput(selectors.token_list(user=request.user), many=True).data)

    @extend_schema(
        operation_id="token_create", summary="Create an API token (from a signed-in browser session)",
        description="The answer holds the token itself, shown this once. A request authenticated by a token "
        "cannot create another: revoking a leaked token must be enough to shut it out.",
        request=TokenCreateInput, responses={201: TokenCreatedOutput, **ERROR_RESPONSES},
    )
    def post(self, request):
        _require_accounts()
        if isinstance(request.successful_authenticator, BearerTokenAuthentication):
            raise ApplicationError(_("API tokens are created from a signed-in session (the account page), "
                                     "not with another token."), code="permission_denied", status=403)
        data = TokenCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = services.token_create(user=request.user, **data.validated_data)
        body = {**TokenOutput(token).data, "token": raw}
        if token.signing:
            body["signing_secret"] = signing_secret(token.digest)
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class TokenRevokeApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(operation_id="token_revoke", summary="Revoke one of your API tokens",
                   responses={204: None, **ERROR_RESPONSES})
    def delete(self, request, token_id: str):
        _require_accounts()
        services.token_revoke(token=selectors.token_get(user=request.user, token_id=token_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccountExportApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(
        operation_id="account_export", summary="Download everything of yours as one zip",
        description="account.json (your settings and API tokens, never their secrets), tasks.json, images.json, "
        "tags.json and images/<image_id>.<ext> (the originals). Audited.",
        responses={(200, "application/zip"): bytes, **ERROR_RESPONSES},
    )
    def get(self, request):
        _require_accounts()
        return export_response(user=request.user)


class AccountEraseInput(serializers.Serializer):
    password = StrictCharField(max_length=4096, trim_whitespace=False,
                               help_text="Your password, to confirm: erasure cannot be undone.")


class AccountEraseApi(APIView):
    throttle_classes = [ApiThrottle]

    @extend_schema(
        operation_id="account_erase", summary="Erase your account and everything in it",
        description="Every task, image (files and thumbnails), tag, API token, session and setting of yours, "
        "then the account. Needs your password; a token needs the manage scope. Audited. Cannot be undone.",
        request=AccountEraseInput, responses={204: None, **ERROR_RESPONSES},
    )
    def post(self, request):
        _require_accounts()
        data = AccountEraseInput(data=request.data)
        data.is_valid(raise_exception=True)
        form = PasswordConfirmForm({"password": data.validated_data["password"]}, user=request.user,
                                   request=request._request)
        if not form.is_valid():
            message = form.errors["password"][0]
            if form.has_error("password", "rate_limited"):
                raise RateLimited(message, retry_after=60)
            raise ValidationFailed(message, details={"password": [message]})
        personal_data.user_erase(user=request.user)
        request._request.audit_skip = True
        return Response(status=status.HTTP_204_NO_CONTENT)
