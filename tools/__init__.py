"""Maintenance scripts run by hand (not imported by the app)."""
