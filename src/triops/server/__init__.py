"""The HTTP interface: a FastAPI app serving the versioned JSON API (and, later, web pages)."""
