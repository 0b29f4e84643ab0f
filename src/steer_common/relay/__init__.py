"""Streams to browsers: wire frames for the browser's protocols, and resumable streams."""
