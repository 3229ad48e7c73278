"""Protocol-faithful local fakes (ASGI apps) of every external system, for tests and demo mode.

Never used when real credentials are configured.
"""
