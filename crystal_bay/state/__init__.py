"""Reflex state classes: thin, one per page or feature, all under AppState (auth + language)."""
