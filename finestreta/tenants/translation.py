from modeltranslation.translator import TranslationOptions, register

from finestreta.tenants.models import Office, Organisation


@register(Organisation)
class OrganisationTranslation(TranslationOptions):
    fields = ("name", "privacy_notice", "accessibility_statement")


@register(Office)
class OfficeTranslation(TranslationOptions):
    fields = ("name",)
