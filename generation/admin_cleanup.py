"""The staff console's cleanup page: its form (what to remove, and a dry run first)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import maintenance


class CleanupForm(forms.Form):
    older_than_days = forms.FloatField(
        label=gettext_lazy("Older than (days)"), required=False, min_value=0.01,
        help_text=gettext_lazy("Delete finished tasks created longer ago than this."),
    )
    keep_latest = forms.IntegerField(
        label=gettext_lazy("Keep the newest"), required=False, min_value=1,
        help_text=gettext_lazy("Delete finished tasks beyond this many, oldest first."),
    )
    max_size = forms.CharField(
        label=gettext_lazy("Disk budget"), required=False, max_length=20,
        help_text=gettext_lazy("Delete the oldest finished tasks until the images fit, e.g. 500M or 20G."),
    )
    files = forms.BooleanField(
        label=gettext_lazy("Remove orphan files and image rows whose file is missing"), required=False, initial=True,
    )
    grace_hours = forms.FloatField(
        label=gettext_lazy("Grace period (hours)"), min_value=1,
        help_text=gettext_lazy("Nothing younger than this is touched."),
    )

    def clean_max_size(self):
        try:
            return maintenance.parse_size(self.cleaned_data["max_size"])
        except ValueError:
            raise forms.ValidationError(_("Not a size; write it like 500M or 20G.")) from None

    def policy(self) -> maintenance.CleanupPolicy:
        data = self.cleaned_data
        return maintenance.CleanupPolicy(
            older_than_days=data["older_than_days"],
            keep_latest=data["keep_latest"],
            max_bytes=data["max_size"],
            files=data["files"],
            grace_hours=data["grace_hours"],
        )
