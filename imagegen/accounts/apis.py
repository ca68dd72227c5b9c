"""/api/v1/account: the signed-in user, their quota and their API tokens (accounts mode; 404 when open)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from imagegen.api.docs import ERROR_RESPONSES
from imagegen.api.fields import StrictCharField, UtcDateTimeField
from imagegen.api.throttling import CreateThrottle, ReadThrottle
from imagegen.errors import ApplicationError, NotFound

from . import selectors, services
from .access import accounts_mode
from .auth import BearerTokenAuthentication


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


class AccountOutput(serializers.Serializer):
    username = serializers.CharField()
    is_staff = serializers.BooleanField()
    quota = QuotaOutput()


class AccountApi(APIView):
    throttle_classes = [ReadThrottle]

    @extend_schema(operation_id="account_get", summary="The signed-in user, their quotas and what is left today",
                   responses={200: AccountOutput, **ERROR_RESPONSES})
    def get(self, request):
        _require_accounts()
        user = request.user
        return Response(AccountOutput(
            {"username": user.get_username(), "is_staff": user.is_staff, "quota": selectors.quota_usage(user=user)}
        ).data)


class TokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The token's first characters, to tell tokens apart.")
    created_at = UtcDateTimeField()
    last_used_at = UtcDateTimeField(allow_null=True, help_text="Recorded at most once a minute.")


class TokenCreateInput(serializers.Serializer):
    name = StrictCharField(max_length=100)


class TokenCreatedOutput(TokenOutput):
    token = serializers.CharField(help_text="The token itself. Shown this once; only its hash is kept.")


class TokenListApi(APIView):
    throttle_classes = [ReadThrottle]

    def get_throttles(self):
        return [CreateThrottle()] if self.request.method == "POST" else super().get_throttles()

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
        token, raw = services.token_create(user=request.user, name=data.validated_data["name"])
        body = {**TokenOutput(token).data, "token": raw}
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class TokenRevokeApi(APIView):
    throttle_classes = [CreateThrottle]

    @extend_schema(operation_id="token_revoke", summary="Revoke one of your API tokens",
                   responses={204: None, **ERROR_RESPONSES})
    def delete(self, request, token_id: str):
        _require_accounts()
        services.token_revoke(token=selectors.token_get(user=request.user, token_id=token_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
