"""The public page where anyone holding a receipt checks it: the verification code printed on
it gives the facts of the signature and the receipt as it was sent (as the "código seguro de
verificación" of Spanish administrations). Rate-limited per address; a wrong code says only
that no receipt has it."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from finestreta.appointments.web import limited, public_organisation, too_many
from finestreta.identity import receipts, signatures
from finestreta.identity.forms import VerifyForm
from finestreta.identity.views import receipt_response


@require_safe
def verify(request: HttpRequest, org: str) -> HttpResponse:
    organisation = public_organisation(org)
    form = VerifyForm(request.GET or None)
    status = 200
    if form.is_bound:
        if limited(request, "verify"):
            return too_many(request, organisation)
        if form.is_valid():
            found = signatures.find_receipt(organisation.pk, form.cleaned_data["code"])
            if found is not None:
                return redirect("identity:verified", organisation.slug, found.verification_code)
            form.add_error(
                "code",
                _("No receipt of %(name)s has this code. Check it against the receipt.")
                % {"name": organisation.name},
            )
        status = 400
    return render(
        request, "identity/verify.html", {"organisation": organisation, "form": form}, status=status
    )


@require_safe
def verified(request: HttpRequest, org: str, code: str) -> HttpResponse:
    organisation = public_organisation(org)
    if limited(request, "verify"):
        return too_many(request, organisation)
    found = signatures.find_receipt(organisation.pk, code)
    if found is None:
        raise Http404("No such receipt")
    if found.verification_code != code:
        return redirect("identity:verified", organisation.slug, found.verification_code)
    url = signatures.receipts_url(found)
    context = {
        "organisation": organisation,
        "signature": found,
        "facts": receipts.facts(found, url)[2:],  # the code and address are said above
        "consents": receipts.consent_lines(found, organisation.time_zone),
    }
    response = render(request, "identity/verified.html", context)
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def verified_receipt(request: HttpRequest, org: str, code: str) -> HttpResponse:
    organisation = public_organisation(org)
    if limited(request, "verify"):
        return too_many(request, organisation)
    found = signatures.find_receipt(organisation.pk, code)
    if found is None or found.verification_code != code:
        raise Http404("No such receipt")
    return receipt_response(found)
