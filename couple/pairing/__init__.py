"""Pairing: invitations, linking two people as a couple, unlinking.

A capability: its row in couple/capabilities.py names what it brings to the app.
"""
