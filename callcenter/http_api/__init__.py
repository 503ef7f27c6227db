"""The HTTP API: one module per resource, each declaring its operations once.

``operations`` (route declarations with their contract), ``errors`` (the error
boundary), ``openapi`` (the generated document), ``context`` (what handlers reach),
and the resources: ``health``, ``auth``, ``contacts``, ``admin``, ``supervisor``.
"""
