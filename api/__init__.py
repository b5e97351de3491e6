"""The FastAPI application: OGC API endpoints, problem+json errors, auth, web pages, and the CLI."""
