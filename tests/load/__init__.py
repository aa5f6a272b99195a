"""Load runs on a real broker, kept out of ``make test`` (``make test-load`` runs them)."""
