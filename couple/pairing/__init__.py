"""Pairing: invitations, linking two people as a couple, unlinking."""
