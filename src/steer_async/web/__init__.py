"""Streams to browsers from asyncio servers: a Django response for an async view
(:mod:`steer_async.web.django`) and a Starlette/FastAPI one (:mod:`steer_async.web.starlette`),
both over :func:`steer_async.web.relay.relay`. docs/browsers.md shows them in use.

Neither framework is imported until its module is: ``import steer_async`` needs neither.
"""
