"""The bottom layer beneath settings: small helpers that import nothing of the project (UTC time, value text)."""
