"""The sign-in page and the account page (quota, spending, API tokens, webhooks). Plain forms: no script
needed, except for the list of share links, which is the Share links page's (static/js/app.js `shares`)."""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors, services
from accounts.audit.models import AuditKind
from accounts.audit.services import audit_record
from accounts.signing import signing_secret
from core.access import accounts_mode
from core.errors import ApplicationError
from gallery import selectors as gallery_selectors
from generation import cost_chart, quotas, spending, webhooks
from generation.models import WebhookDelivery

from . import personal_data
from .forms import LoginForm, PasswordConfirmForm, PasswordResetRequestForm, SecondFactorForm, TokenForm


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

    def form_valid(self, form):
        """The password was right. A user with a second factor (or staff who must have one) is not signed
        in yet: the session remembers who passed the first step, for a few minutes, and the second step
        asks for the code (or enrols the authenticator)."""
        user = form.get_user()
        if selectors.second_factor_needed(user=user):
            self.request.session[PENDING_KEY] = {"user": user.pk, "backend": user.backend, "at": time.time(),
                                                 "next": self.get_success_url()}
            return redirect("login-two-factor")
        return super().form_valid(form)


PENDING_KEY = "imagegen_second_factor_pending"
PENDING_SECONDS = 300


def _pending_user(request):
    """The user who passed the password step in this session less than PENDING_SECONDS ago, with what the
    step remembered; None otherwise."""
    from django.contrib.auth import get_user_model

    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    user = get_user_model().objects.filter(pk=pending.get("user"), is_active=True).first()
    return None if user is None else (user, pending)


@login_not_required
@never_cache
def login_two_factor(request):
    """The second step of a sign-in: the authenticator's code or a recovery code; staff who must have a
    second factor and have none enrol their authenticator here first (and see their recovery codes)."""
    from django.contrib.auth import login
    from django_otp import login as otp_login

    if not accounts_mode():
        raise Http404
    found = _pending_user(request)
    if found is None:
        messages.info(request, _("Sign in again: the sign-in took too long."))
        return redirect("login")
    user, pending = found
    enrolling = None if selectors.two_factor_enabled(user=user) else services.totp_enrolment_start(user=user)
    accepted = []

    def check(code):
        device = services.second_factor_check(user=user, code=code, enrolling=enrolling)
        accepted.append(device)
        return device is not None

    form = SecondFactorForm(request.POST if request.method == "POST" else None, request=request, user=user,
                            check=check)
    if request.method == "POST":
        if form.is_valid():
            request.session.pop(PENDING_KEY, None)
            login(request, user, backend=pending["backend"])
            device = accepted[-1]
            codes = services.totp_enrolment_confirm(user=user, device=device) if enrolling is not None else None
            otp_login(request, device)
            if codes:
                return render(request, "pages/recovery_codes.html",
                              {"page": "account", "codes": codes, "next": pending["next"]})
            return redirect(pending["next"])
        if accepted and accepted[-1] is None:
            audit_record(AuditKind.SIGN_IN_FAILED, request=request, status=401, user=None,
                         username=user.get_username(), object_id="second_factor")
            request.audit_skip = True
    context = {"page": "login", "form": form, "enrolling": enrolling is not None}
    if enrolling is not None:
        context["provisioning"] = services.totp_provisioning(device=enrolling)
    status = 200
    if request.method == "POST":
        status = 429 if form.has_error(NON_FIELD_ERRORS, "rate_limited") else 400
    return render(request, "pages/login_two_factor.html", context, status=status)


def _two_factor_page(request, *, form=None, password_form=None, codes=None, status=200):
    user = request.user
    enabled = selectors.two_factor_enabled(user=user)
    context = {"page": "account", "enabled": enabled, "required": selectors.two_factor_required(user=user),
               "codes": codes, "codes_left": selectors.recovery_codes_left(user=user) if enabled else 0,
               "password_form": password_form or PasswordConfirmForm(user=user)}
    if not enabled:
        device = services.totp_enrolment_start(user=user)
        context.update(provisioning=services.totp_provisioning(device=device),
                       form=form or SecondFactorForm(request=request, user=user, check=lambda code: False))
    return render(request, "pages/two_factor.html", context, status=status)


@never_cache
def two_factor(request):
    """The account's two-factor page: enrol an authenticator (QR code and key, then a code from it), or,
    once on, new recovery codes and turning it off."""
    from django_otp import login as otp_login

    if not accounts_mode():
        raise Http404
    user = request.user
    if request.method != "POST":
        return _two_factor_page(request)
    if selectors.two_factor_enabled(user=user):
        return redirect("two-factor")
    device = services.totp_enrolment_start(user=user)
    accepted = []

    def check(code):
        accepted.append(services.second_factor_check(user=user, code=code, enrolling=device))
        return accepted[-1] is not None

    form = SecondFactorForm(request.POST, request=request, user=user, check=check)
    if not form.is_valid():
        status = 429 if form.has_error(NON_FIELD_ERRORS, "rate_limited") else 400
        return _two_factor_page(request, form=form, status=status)
    codes = services.totp_enrolment_confirm(user=user, device=device)
    otp_login(request, device)
    # Sessions signed in with the password alone end: from now on a sign-in takes the second factor.
    services.sessions_end(user=user, keep=request.session.session_key)
    return _two_factor_page(request, codes=codes)


@require_POST
@never_cache
def recovery_codes_renew(request):
    if not accounts_mode():
        raise Http404
    password_form = PasswordConfirmForm(request.POST, user=request.user, request=request)
    if not selectors.two_factor_enabled(user=request.user):
        return redirect("two-factor")
    if not password_form.is_valid():
        return _two_factor_page(request, password_form=password_form, status=400)
    return _two_factor_page(request, codes=services.recovery_codes_renew(user=request.user))


@require_POST
def two_factor_disable(request):
    if not accounts_mode():
        raise Http404
    password_form = PasswordConfirmForm(request.POST, user=request.user, request=request)
    if not password_form.is_valid():
        return _two_factor_page(request, password_form=password_form, status=400)
    try:
        services.two_factor_disable(user=request.user)
    except ApplicationError as err:
        password_form.add_error(None, str(err.message))
        return _two_factor_page(request, password_form=password_form, status=400)
    messages.success(request, _("Two-factor sign-in is off."))
    return redirect("account")


def _account_page(request, *, form=None, new_token=None, new_webhook_secret=None, status=200):
    if not accounts_mode():
        raise Http404
    return render(
        request,
        "pages/account.html",
        {
            "page": "account",
            "usage": quotas.quota_usage(user=request.user),
            "cost_chart": cost_chart.chart(spending.daily_totals(user=request.user)),
            "spending_caps": spending.usage(spending.caps_for(request.user), user=request.user),
            "tokens": selectors.token_list(user=request.user),
            "form": form or TokenForm(),
            "new_token": new_token,
            "two_factor": selectors.two_factor_enabled(user=request.user),
            "live_share_links": gallery_selectors.share_live_count(user=request.user),
            "webhook_secret": webhooks.secret_of(request.user),
            "new_webhook_secret": new_webhook_secret,
            "webhook_deliveries": WebhookDelivery.objects.filter(owner=request.user).select_related("task")[:20],
        },
        status=status,
    )


@require_GET
@never_cache
def account(request):
    return _account_page(request)


@require_POST
@never_cache
def webhook_secret_rotate(request):
    if not accounts_mode():
        raise Http404
    return _account_page(request, new_webhook_secret=webhooks.secret_rotate(owner=request.user))


@require_POST
def webhook_resend(request, delivery_id: str):
    if not accounts_mode():
        raise Http404
    delivery = WebhookDelivery.objects.filter(owner=request.user, delivery_id=delivery_id).first()
    if delivery is None:
        raise Http404
    webhooks.delivery_resend(delivery=delivery)
    messages.success(request, _("The delivery will be sent again."))
    return redirect("account")


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
        token, raw = services.token_create(
            user=request.user, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
            expires_in_days=form.cleaned_data["expires_in_days"],
            signature_required=form.cleaned_data["signature_required"], webhook=form.cleaned_data["webhook"])
    except ApplicationError as err:
        # At the field the service names (details, as the API reports it); else at the form.
        fields = [field for field in (err.details or {}) if field in form.fields]
        for field in fields or [None]:
            form.add_error(field, str(err.message))
        return _account_page(request, form=form, status=400)
    return _account_page(request, new_token={"name": token.name, "value": raw,
                                             "secret": signing_secret(token.digest) if token.signing else ""})


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


@require_POST
def sign_out_everywhere(request):
    """Ends every session of the user, this one included."""
    if not accounts_mode():
        raise Http404
    from django.contrib.auth import logout

    user = request.user
    services.sign_out_everywhere(user=user)
    logout(request)
    return redirect("login")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's: the old password, the new one twice (the site's validators); this session stays signed
    in, every other session of the user ends (Django checks a session against the password)."""

    template_name = "pages/password_change.html"
    success_url = reverse_lazy("account")
    extra_context = {"page": "account"}

    def dispatch(self, request, *args, **kwargs):
        if not accounts_mode():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        from django.contrib import messages

        response = super().form_valid(form)
        messages.success(self.request, _("Your password was changed. Other sessions were signed out."))
        return response


# --- Password reset by e-mail (Django's views and forms; EMAIL_* settings) ------------------------------------


class _AccountsOnly:
    @method_decorator(login_not_required)
    def dispatch(self, request, *args, **kwargs):
        if not accounts_mode():
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class PasswordResetView(_AccountsOnly, auth_views.PasswordResetView):
    """Asks for the e-mail address; sends a one-time link to an active user with that address. The answer
    is the same whether or not the address is known (nobody learns who has an account here)."""

    template_name = "pages/password_reset.html"
    form_class = PasswordResetRequestForm
    email_template_name = "emails/password_reset.txt"
    subject_template_name = "emails/password_reset_subject.txt"
    success_url = reverse_lazy("password-reset-done")
    extra_context = {"page": "login"}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "rate_limited"):
            response.status_code = 429
        return response

    def form_valid(self, form):
        audit_record(AuditKind.PASSWORD_RESET, request=self.request, status=200, user=None, object_id="requested")
        self.request.audit_skip = True
        return super().form_valid(form)


class PasswordResetDoneView(_AccountsOnly, auth_views.PasswordResetDoneView):
    template_name = "pages/password_reset_done.html"
    extra_context = {"page": "login"}


class PasswordResetConfirmView(_AccountsOnly, auth_views.PasswordResetConfirmView):
    """The link's page: a new password twice (the site's rules). The link works once (it depends on the
    password) and for PASSWORD_RESET_TIMEOUT; every session of the user ends with the old password. The
    user then signs in, with the second factor if they have one."""

    template_name = "pages/password_reset_confirm.html"
    success_url = reverse_lazy("password-reset-complete")
    extra_context = {"page": "login"}

    def form_valid(self, form):
        response = super().form_valid(form)
        services.sessions_end(user=form.user)
        audit_record(AuditKind.PASSWORD_RESET, request=self.request, status=200, user=form.user,
                     username=form.user.get_username(), object_id="completed")
        self.request.audit_skip = True
        return response


class PasswordResetCompleteView(_AccountsOnly, auth_views.PasswordResetCompleteView):
    template_name = "pages/password_reset_complete.html"
    extra_context = {"page": "login"}


# --- A person's data: the archive, and erasure ------------------------------------------------------------------


def export_response(*, user, by=None):
    """The user's archive as a download (spooled: a large one goes to a temporary file, never all in RAM)."""
    import tempfile

    from django.http import FileResponse
    from django.utils import timezone

    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    personal_data.user_export(user=user, out=spool, by=by)
    spool.seek(0)
    name = f"imagegen-{user.get_username()}-{timezone.now():%Y%m%d-%H%M%S}.zip"
    response = FileResponse(spool, as_attachment=True, filename=name, content_type="application/zip")
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@never_cache
def account_export(request):
    """Everything of the signed-in user's as one zip (README, "Accounts"): their tasks, images (the files),
    tags and settings."""
    if not accounts_mode():
        raise Http404
    return export_response(user=request.user)


@never_cache
def account_delete(request):
    """Erase the account with everything in it, after the password. The answer is a page that needs no
    account: there is none any more."""
    from django.contrib.auth import logout

    if not accounts_mode():
        raise Http404
    form = PasswordConfirmForm(request.POST if request.method == "POST" else None, user=request.user,
                               request=request)
    if request.method != "POST" or not form.is_valid():
        status = 200 if request.method != "POST" else 400
        if form.has_error("password", "rate_limited"):
            status = 429
        return render(request, "pages/account_delete.html", {"page": "account", "form": form}, status=status)
    user = request.user
    done = personal_data.user_erase(user=user)
    logout(request)
    request.audit_skip = True  # the erasure is its own audit event
    return render(request, "pages/account_erased.html", {"page": "login", "done": done})
