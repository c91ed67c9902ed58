"""The browser login function: ``/auth/login``, ``/auth/callback`` and ``/auth/logout``.

An OpenID Connect authorization-code login with PKCE for the browser routes of an API
(docs/login.md). Pure modules: ``flow`` (the login transaction, its sealed cookie, the return
URL rule, the callback checks) and ``responses`` (the proxy responses and their cookies). IO:
``app`` (the token exchange and the verification of the tokens, with the JWT authorizer's
verifier). ``config`` reads the settings; ``handler`` is the Lambda entry point.
"""
