"""Data models: events (per delta, plain classes), options and responses (pydantic)."""
