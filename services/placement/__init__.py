"""Placement: accepted groups get a location and a shelter, or wait their turn."""
