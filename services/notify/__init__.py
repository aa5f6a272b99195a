"""Notify: requests to legal-aid and health partners, and their webhook delivery."""
