from django.db import models
from django.utils.translation import get_language


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def localized(obj: object, field: str) -> str:
    """The English variant of a bilingual field (`<field>_en`) when English is
    active and filled, the Japanese one (`<field>_ja`) otherwise."""
    if (get_language() or "ja").startswith("en"):
        english = getattr(obj, f"{field}_en", "")
        if english:
            return english
    return getattr(obj, f"{field}_ja")
