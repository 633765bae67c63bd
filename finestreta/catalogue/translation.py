from modeltranslation.translator import TranslationOptions, register

from finestreta.catalogue.models import Service


@register(Service)
class ServiceTranslation(TranslationOptions):
    fields = ("name", "description", "documents_to_prepare")
    required_languages = {"default": ("name",)}
