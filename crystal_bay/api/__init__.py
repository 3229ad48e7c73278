"""FastAPI routes mounted on the Reflex backend (api_transformer)."""
