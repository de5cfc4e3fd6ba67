"""Watching the champion after it is deployed: drift, data quality, performance, accounts.

Pure functions over frames; :func:`models.monitoring.monitor.monitor_at` puts them together as
of one day and uses nothing dated after it.
"""
