"""Browser end-to-end tests: the real app (`reflex run`) driven by Debian's chromium via Playwright."""
