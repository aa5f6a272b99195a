"""The web console: locations live, INM and shelter actions, requests, case lookup, charts.

Its own process (``python -m services.console``), an aiohttp server in front of
placement's and notify's HTTP pages and the topics. It writes only what officials
do: ``location-status-changed``, ``capacity-updated`` and ``shelter-departed``.
"""
