"""Forms of the staff's call page: inviting a colleague or a guest into the call, or
transferring it. Every message says what to do, in plain words."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Membership
from finestreta.video.models import Invitation

COLLEAGUE_KINDS = [
    (Invitation.Kind.INTERPRETER, _("as an interpreter")),
    (Invitation.Kind.SPECIALIST, _("as a specialist")),
    (Invitation.Kind.SUPERVISOR, _("as a supervisor")),
    (Invitation.Kind.TRANSFER, _("to take the call over from me")),
]
GUEST_KINDS = [
    (Invitation.Kind.INTERPRETER, _("as an interpreter (sign language or another language)")),
    (Invitation.Kind.SPECIALIST, _("as a specialist of another office or administration")),
]


class ColleagueChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Membership) -> str:
        return str(obj.user)


class InviteColleagueForm(forms.Form):
    membership = ColleagueChoice(
        label=_("Colleague"),
        queryset=Membership.objects.none(),
        empty_label=_("Choose a colleague"),
        error_messages={"required": _("Choose the colleague to invite.")},
    )
    kind = forms.ChoiceField(
        label=_("Invite them"),
        choices=COLLEAGUE_KINDS,
        initial=Invitation.Kind.SPECIALIST,
    )

    prefix = "colleague"

    def __init__(self, *args: Any, colleagues: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["membership"]
        if isinstance(field, ColleagueChoice):
            field.queryset = Membership.objects.filter(
                pk__in=[m.pk for m in colleagues]
            ).select_related("user")


class InviteGuestForm(forms.Form):
    name = forms.CharField(
        label=_("Guest's name"),
        max_length=200,
        help_text=_("Everyone in the call sees it, the citizen included."),
        error_messages={"required": _("Write the guest's name: the citizen will see it.")},
    )
    kind = forms.ChoiceField(label=_("Invite them"), choices=GUEST_KINDS)
    prefix = "guest"
