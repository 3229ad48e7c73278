"""One module per external system: settings schema, typed async client, test_connection(), errors.

SAMO, OpenAI, Telegram, Wazzup24, Bitrix24 and SendGrid arrive with their issues.
"""
