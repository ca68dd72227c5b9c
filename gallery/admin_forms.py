"""The forms of the staff console's image and tag actions (tag names, a target tag, a confirmation), the
page that shows them, and the admin-log record of what an action changed."""

from __future__ import annotations


from django import forms
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ValidationFailed

from . import services

def split_names(text: str) -> list[str]:
    """Comma-separated tag names (a full-width comma works too), each normalised; errors as form errors."""
    names = []
    for raw in text.replace("，", ",").split(","):
        if not raw.strip():
            continue
        try:
            names.append(services.normalize_tag(raw))
        except ValidationFailed as err:
            raise forms.ValidationError(err.message) from None
    return sorted(set(names))


class TagNamesField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", gettext_lazy("Separate tags with commas."))
        super().__init__(**kwargs)

    def clean(self, value):
        return split_names(super().clean(value) or "")


class TagNamesForm(forms.Form):
    names = TagNamesField(label=gettext_lazy("Tags"))

    def clean_names(self):
        if not self.cleaned_data["names"]:
            raise forms.ValidationError(_("Give at least one tag."))
        return self.cleaned_data["names"]


class TagTargetForm(forms.Form):
    target = forms.CharField(label=gettext_lazy("New name"), max_length=200)

    def clean_target(self):
        try:
            return services.normalize_tag(self.cleaned_data["target"])
        except ValidationFailed as err:
            raise forms.ValidationError(err.message) from None


class ConfirmForm(forms.Form):
    pass


def render_action_form(modeladmin, request, queryset, *, action: str, title: str, intro: str, form, items):
    """The intermediate page of an action: the selection is carried along, the form posted back with
    `apply` set."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "opts": modeladmin.opts,
        "form": form,
        "adminform": admin.helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}),
        "items": items,
        "selected": [str(pk) for pk in queryset.values_list("pk", flat=True)],
        "action": action,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "select_across": request.POST.get("select_across", "0"),
        "index": request.POST.get("index", "0"),
        "media": modeladmin.media,
    }
    return TemplateResponse(request, "admin/gallery/action_form.html", context)


def log_change(request, objects, message: str) -> None:
    if objects:
        LogEntry.objects.log_actions(
            user_id=request.user.pk, queryset=list(objects), action_flag=CHANGE, change_message=message
        )
