"""Commitments and follow-through: promises each partner makes, marks, acknowledgements.

A capability: its row in couple/capabilities.py names what it brings to the app.
"""
