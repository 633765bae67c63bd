from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from finestreta.identity.models import ConsentKind, DocumentType

YES_NO = [("yes", _("Yes, I agree")), ("no", _("No, I do not agree"))]


class CitizenConsentForm(forms.Form):
    """The questions still pending for the citizen of an appointment, before the call."""

    def __init__(self, *args: Any, kinds: list[ConsentKind], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kinds = kinds
        if ConsentKind.PRIVACY_NOTICE in kinds:
            self.fields["privacy_notice"] = forms.BooleanField(
                label=_("I have read how my personal data are used"),
                error_messages={"required": _("Tick the box once you have read the notice.")},
            )
        for kind, label in (
            (ConsentKind.RECORDING, _("Do you agree to this call being recorded?")),
            (ConsentKind.IMAGE_RIGHTS, _("Do you agree to your image being used for training?")),
        ):
            if kind in kinds:
                self.fields[kind] = forms.ChoiceField(
                    label=label,
                    choices=YES_NO,
                    widget=forms.RadioSelect,
                    error_messages={"required": _("Choose yes or no.")},
                )

    def answers(self) -> list[tuple[ConsentKind, bool]]:
        found = []
        for kind in self.kinds:
            value = self.cleaned_data.get(kind)
            found.append((kind, value is True or value == "yes"))
        return found


SPOKEN_CHOICES = {
    ConsentKind.RECORDING: _("Agrees to the call being recorded"),
    ConsentKind.IMAGE_RIGHTS: _("Agrees to their image being used for training"),
}


class SpokenConsentForm(forms.Form):
    """An answer said aloud, of the kinds the procedure asks (all of them when not told)."""

    kind = forms.ChoiceField(label=_("What the person said"), choices=list(SPOKEN_CHOICES.items()))
    granted = forms.TypedChoiceField(
        label=_("Their answer"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )

    person = forms.ChoiceField(label=_("Who answered"), required=False)

    def __init__(
        self,
        *args: Any,
        kinds: list[ConsentKind] | None = None,
        people: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if kinds is not None:
            field = self.fields["kind"]
            field.choices = [(k, SPOKEN_CHOICES[k]) for k in kinds if k in SPOKEN_CHOICES]  # type: ignore[attr-defined]
        # The citizen, and each invited guest in the call (who answers for themselves).
        self.fields["person"].choices = [("", _("The citizen")), *(people or [])]  # type: ignore[attr-defined]


class CodeSendForm(forms.Form):
    destination = forms.ChoiceField(label=_("Send the code to"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["destination"]
        field.choices = choices  # type: ignore[attr-defined]
        if choices:
            field.initial = choices[0][0]


class CodeCheckForm(forms.Form):
    code = forms.CharField(
        label=_("Code the person reads out"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class DocumentCheckForm(forms.Form):
    document_type = forms.ChoiceField(label=_("Document shown"), choices=DocumentType.choices)
    number = forms.CharField(label=_("Document number"), max_length=40)
    expires_on = forms.DateField(
        label=_("Valid until (as on the document)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    number_checked = forms.BooleanField(
        label=_("The number matches the one the person gives"), required=False
    )
    photo_matches = forms.BooleanField(
        label=_("The photograph matches the person on camera"), required=False
    )
    not_expired = forms.BooleanField(label=_("The document has not expired"), required=False)


class SignatureRequestForm(forms.Form):
    """What the agent puts to the citizen for signature: the call's summary, written here, or
    one document shared in the call; and where the code goes."""

    title = forms.CharField(
        label=_("What is signed"),
        max_length=200,
        initial=_("Summary of the video call"),
        help_text=_("A short title, as the receipt will show it."),
    )
    body = forms.CharField(
        label=_("Summary to sign"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What was done and agreed, in plain words. Leave it empty to sign a document."),
    )
    shared_file = forms.TypedChoiceField(
        label=_("Or a document shared in the call"),
        required=False,
        coerce=int,
        empty_value=None,
    )
    destination = forms.ChoiceField(label=_("Send the code to"), widget=forms.RadioSelect)

    def __init__(
        self,
        *args: Any,
        destinations: list[tuple[str, str]],
        files: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        destination = self.fields["destination"]
        destination.choices = destinations  # type: ignore[attr-defined]
        if destinations:
            destination.initial = destinations[0][0]
        self.fields["shared_file"].choices = [("", _("None: sign the summary")), *files]  # type: ignore[attr-defined]
        if not files:
            del self.fields["shared_file"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        has_body = bool((data.get("body") or "").strip())
        has_file = data.get("shared_file") is not None
        if has_body == has_file and not self.errors:
            raise forms.ValidationError(_("Write the summary to sign, or choose one document."))
        return data


class SignCodeForm(forms.Form):
    code = forms.CharField(
        label=_("The code we sent you"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
        error_messages={"required": _("Type the code we sent you.")},
    )


class ConsentCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code the person reads out"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"required": _("Type the code the person reads out.")},
    )


class VerifyForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code"),
        max_length=40,
        help_text=_("As printed on the receipt: four groups of four letters and digits."),
        error_messages={"required": _("Type the verification code of the receipt.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
