"""Use-cases: keyword-only functions taking a session. Every entry point calls these."""
