from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from knox.signals import token_expired
from rest_framework import exceptions


class BearerTokenAuthentication(TokenAuthentication):
    """`Authorization: Bearer <token>` with hashed, expiring, revocable tokens
    (django-rest-knox), answering in our error vocabulary.

    One query per request: the token and its user. Knox would also read every
    other token of the user on each request, to delete the expired ones; an
    expired token never authenticates anyway (checked here), and is deleted when
    it is presented. Tokens are not refreshed on use (knox's AUTO_REFRESH is off),
    so a request writes nothing."""

    def authenticate_credentials(self, token):
        try:
            return super().authenticate_credentials(token)
        except exceptions.AuthenticationFailed as error:
            raise exceptions.AuthenticationFailed(
                _("The bearer token is invalid, expired or revoked."), code="invalid_token"
            ) from error

    def _cleanup_token(self, auth_token) -> bool:
        """Whether the presented token has expired (it is then deleted)."""
        if auth_token.expiry is None or auth_token.expiry >= timezone.now():
            return False
        username = auth_token.user.get_username()
        auth_token.delete()
        token_expired.send(sender=self.__class__, username=username, source="auth_token")
        return True
