"""Crystal Bay Travel: the agency's sales system."""

__version__ = "0.1.0"
