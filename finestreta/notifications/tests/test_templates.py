"""Organisations' own texts: they take precedence over the platform's, render in a sandbox with a
small fixed context, keep personal data out of SMS and fit in two SMS."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import translation

from finestreta.accounts.models import Membership
from finestreta.notifications import templating
from finestreta.notifications.models import MessageTemplate
from finestreta.notifications.services import queue_message, render
from finestreta.notifications.sms import segments
from tests.factories import AppointmentFactory


@pytest.fixture
def context(personas):  # type: ignore[no-untyped-def]
    appointment = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC),
        id_document="12345678Z",
        phone="+34612345678",
    )
    return {"appointment": appointment, "manage_url": "https://finestreta.example/a/t/"}


def own(personas, **values) -> MessageTemplate:  # type: ignore[no-untyped-def]
    defaults = {"organisation": personas.org_a, "kind": "reminder", "language": "ca"}
    return MessageTemplate.objects.create(**{**defaults, **values})


def test_the_organisation_s_own_template_is_used_for_its_kind_channel_and_language(
    personas, context
) -> None:
    own(personas, channel="sms", body="{{ organisation }}: cita el {{ date }} a les {{ time }}.")
    _s, text, _h = render(
        kind="reminder", channel="sms", language="ca", organisation=personas.org_a, context=context
    )
    assert text == "Organisme A: cita el 1/12 a les 10:30."  # Madrid time
    # Another language, channel or organisation: the platform's text.
    for language, channel, organisation in (
        ("es", "sms", personas.org_a),
        ("ca", "email", personas.org_a),
        ("ca", "sms", personas.org_b),
    ):
        _s, text, _h = render(
            kind="reminder",
            channel=channel,
            language=language,
            organisation=organisation,
            context=context,
        )
        assert "cita el 1/12 a les 10:30." not in text


def test_an_email_template_has_a_subject_a_name_and_an_html_version(personas, context) -> None:
    own(
        personas,
        channel="email",
        subject="Recordatori: {{ day }}",
        body="Hola, {{ name }}.\n\n{{ starts_at|weekday_date }}, {{ time }}\n{{ manage_url }}",
    )
    subject, text, html = render(
        kind="reminder",
        channel="email",
        language="ca",
        organisation=personas.org_a,
        context=context,
    )
    assert subject.lower() == "recordatori: dimarts, 1 de desembre"
    assert text.lower().startswith("hola, núria vidal.\n\ndimarts, 1 de desembre de 2026, 10:30")
    assert "https://finestreta.example/a/t/" in html


def test_an_sms_template_cannot_reach_personal_data_even_if_it_asks(personas, context) -> None:
    own(personas, channel="sms", body="{{ name }}{{ appointment.id_document }}{{ phone }} ok")
    _s, text, _h = render(
        kind="reminder", channel="sms", language="ca", organisation=personas.org_a, context=context
    )
    assert text == "ok"


def test_the_sandbox_has_no_includes_and_no_other_libraries(personas) -> None:
    for source in ('{% include "notifications/reminder.txt" %}', "{% load static %}x"):
        problems = templating.check_template(
            subject="s",
            body=source,
            kind="reminder",
            channel="email",
            language="ca",
            organisation=personas.org_a,
        )
        assert "body" in problems


@pytest.mark.parametrize(
    ("source", "tag"),
    [
        ("{% debug %}", "debug"),  # it would print the server's modules and their paths
        ("{% comment %}{% debug %}{% endcomment %}", "debug"),
        ("{% url 'home' %}", "url"),
        ("{% csrf_token %}", "csrf_token"),
        ("{% templatetag openblock %}", "templatetag"),
        ("{% verbatim %}{{ name }}{% endverbatim %}", "verbatim"),
    ],
)
def test_tags_beyond_conditions_loops_and_translations_are_refused_by_name(
    personas, source, tag
) -> None:
    with translation.override("en"):  # the administrator's language
        problems = templating.check_template(
            subject="s",
            body=source,
            kind="reminder",
            channel="email",
            language="ca",
            organisation=personas.org_a,
        )
    assert f"the tag “{tag}” cannot be used in a message" in problems["body"][0], problems


def test_a_debug_tag_saved_before_the_rule_is_not_rendered_at_send_time(personas, context) -> None:
    own(personas, channel="email", subject="Hola", body="{% debug %}")
    _subject, text, html = render(
        kind="reminder",
        channel="email",
        language="ca",
        organisation=personas.org_a,
        context=context,
    )
    platform = render(
        kind="reminder",
        channel="email",
        language="ca",
        organisation=personas.org_a,
        context=context,
        use_own=False,
    )
    assert (text, html) == platform[1:] and "site-packages" not in text + html


def test_markup_in_an_own_template_and_in_the_citizen_s_name_is_text_in_the_html_e_mail(
    personas, context
) -> None:
    context["appointment"].name = '"><svg onload=alert(1)>'
    own(
        personas,
        channel="email",
        subject="<b>Recordatori</b>",
        body="<script>alert(1)</script> {{ name }} <a href='javascript:alert(1)'>x</a>",
    )
    subject, text, html = render(
        kind="reminder",
        channel="email",
        language="ca",
        organisation=personas.org_a,
        context=context,
    )
    assert "<script>alert(1)</script>" in text  # the plain-text part is plain text
    assert "<script" not in html and "<svg" not in html and "<a href='javascript" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;svg onload" in html


def test_a_broken_own_template_falls_back_to_the_platform_s_text(personas, context) -> None:
    own(personas, channel="sms", body='{% include "x.txt" %}')
    with transaction.atomic():
        message = queue_message(
            organisation=personas.org_a,
            kind="reminder",
            channel="sms",
            recipient="+34612345678",
            language="ca",
            context=context,
            dedup_key="t",
        )
    assert message is not None and "Organisme A" in message.body


@pytest.mark.parametrize(
    "source", ["Hola {{ name }}", "{{ appointment.phone }}", "{% if email %}x{% endif %}"]
)
def test_an_sms_template_with_personal_data_is_refused_with_a_clear_message(
    personas, source
) -> None:
    with translation.override("en"):  # the staff member's page language, not the SMS's
        problems = templating.check_template(
            subject="",
            body=source,
            kind="reminder",
            channel="sms",
            language="ca",
            organisation=personas.org_a,
        )
        assert "personal data" in problems["body"][0]


def test_personal_words_in_plain_text_or_quotes_are_not_variables() -> None:
    assert templating.variables_used('Your name {% translate "name" %} {{ day }}') == {
        "translate",
        "day",
    }


def test_an_sms_template_longer_than_two_sms_with_sample_data_is_refused(personas) -> None:
    long = "{{ organisation }}: " + "a" * 200 + " {{ manage_url }}"
    problems = templating.check_template(
        subject="",
        body=long,
        kind="reminder",
        channel="sms",
        language="ca",
        organisation=personas.org_a,
    )
    assert "3" in problems["body"][0]
    fits = "{{ organisation }}: cita {{ date }} {{ time }} {{ manage_url }}"
    assert (
        templating.check_template(
            subject="",
            body=fits,
            kind="reminder",
            channel="sms",
            language="ca",
            organisation=personas.org_a,
        )
        == {}
    )


def test_the_platform_s_english_sms_fit_in_two_sms_with_sample_data(personas) -> None:
    for kind, _label in templating.KINDS:
        context = templating.sample_context(organisation=personas.org_a, kind=kind, language="en")
        _s, text, _h = render(
            kind=kind, channel="sms", language="en", organisation=personas.org_a, context=context
        )
        assert segments(text)[1] <= templating.MAX_SMS_SEGMENTS, (kind, text)


def test_the_starting_text_is_the_platform_s_with_variables(personas) -> None:
    subject, body = templating.starting_text(
        organisation=personas.org_a, kind="reminder", channel="sms", language="en"
    )
    assert subject == ""
    # A video appointment's reminder has the join link; the others', the manage link.
    video, other = (
        body.removeprefix("{% if join_url %}").removesuffix("{% endif %}").split("{% else %}")
    )
    assert video.startswith("{{ organisation }}:") and other.startswith("{{ organisation }}:")
    assert "{{ date }}" in video and "{{ time }}" in video and "{{ join_url }}" in video
    assert "{{ date }}" in other and "{{ time }}" in other and "{{ manage_url }}" in other
    assert (
        templating.check_template(
            subject="",
            body=body,
            kind="reminder",
            channel="sms",
            language="en",
            organisation=personas.org_a,
        )
        == {}
    )
