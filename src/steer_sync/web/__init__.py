"""Streams to browsers from WSGI servers: a Django response for a blocking view
(:mod:`steer_sync.web.django`), over :func:`steer_sync.web.relay.relay`. docs/browsers.md
shows it in use.

Django is not imported until that module is: ``import steer_sync`` does not need it.
"""
