from modeltranslation.translator import TranslationOptions, register

from finestreta.catalogue.models import OutcomeCode, Service


@register(Service)
class ServiceTranslation(TranslationOptions):
    fields = ("name", "description", "documents_to_prepare")
    required_languages = {"default": ("name",)}


@register(OutcomeCode)
class OutcomeCodeTranslation(TranslationOptions):
    fields = ("label",)
    required_languages = {"default": ("label",)}
