"""Identity verification over OpenID Connect.

A resident who is already logged in (e-mail and password) proves who they are at an
external identity provider, and the verified identity is attached to their account.
This is not a login: the provider's answer never logs anybody in.

- client.py: the relying party (mozilla-django-oidc's pieces: state, nonce, PKCE,
  token exchange, ID token signature through the provider's JWKS, userinfo).
- services.py: `identity_verification_record`, the one write, audited.
- selectors.py: `verified_identity(user)`, for other apps to enforce the identity
  level of a procedure and to prefill name, date of birth and address.
- views.py and urls.py: the resident's pages under /accounts/identity/.
- sandbox.py: a test identity provider that speaks real OIDC, mounted under
  /sandbox-idp/ only when IDENTITY_SANDBOX_ENABLED (local and test settings).

See docs/identity.md.
"""
