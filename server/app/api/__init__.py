"""The HTTP API (FastAPI). Routers are thin: they call domain services through Depends."""
