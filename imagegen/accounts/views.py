"""The sign-in page and the account page (quota, API tokens). Plain forms: no script needed."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from imagegen.errors import ApplicationError

from . import selectors, services
from .access import accounts_mode
from .forms import LoginForm, TokenForm


class LoginView(auth_views.LoginView):
    template_name = "pages/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True
    extra_context = {"page": "login"}

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "rate_limited"):
            response.status_code = 429
        return response


def _account_page(request, *, form=None, new_token=None, status=200):
    if not accounts_mode():
        raise Http404
    return render(
        request,
        "pages/account.html",
        {
            "page": "account",
            "usage": selectors.quota_usage(user=request.user),
            "tokens": selectors.token_list(user=request.user),
            "form": form or TokenForm(),
            "new_token": new_token,
        },
        status=status,
    )


@require_GET
@never_cache
def account(request):
    return _account_page(request)


@require_POST
@never_cache
def token_create(request):
    """Creates the token and shows it in the answer to this POST, once: it is stored nowhere else."""
    if not accounts_mode():
        raise Http404
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _account_page(request, form=form, status=400)
    try:
        token, raw = services.token_create(user=request.user, name=form.cleaned_data["name"])
    except ApplicationError as err:
        form.add_error("name", str(err.message))
        return _account_page(request, form=form, status=400)
    return _account_page(request, new_token={"name": token.name, "value": raw})


@require_POST
def token_revoke(request, token_id: str):
    if not accounts_mode():
        raise Http404
    try:
        token = selectors.token_get(user=request.user, token_id=token_id)
    except ApplicationError:
        raise Http404 from None
    services.token_revoke(token=token)
    messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    return redirect("account")
