from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from rest_framework import exceptions


class BearerTokenAuthentication(TokenAuthentication):
    """`Authorization: Bearer <token>` with hashed, expiring, revocable tokens
    (django-rest-knox), answering in our error vocabulary."""

    def authenticate_credentials(self, token):
        try:
            return super().authenticate_credentials(token)
        except exceptions.AuthenticationFailed as error:
            raise exceptions.AuthenticationFailed(
                _("The bearer token is invalid, expired or revoked."), code="invalid_token"
            ) from error
