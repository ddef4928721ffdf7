"""``nhictl serve``: the agent-facing OAuth token service on the core library and store.

One module per endpoint (``metadata``, ``token``, ``introspect``, ``revoke``, ``statuslists``,
``health``); ``clientauth`` is the one place a caller is authenticated, ``issue_request`` the one
place a token request becomes the core's issue request, ``protect`` the request limits, and
``context`` the per-process wiring. Starlette and Granian are imported only from here.
"""
