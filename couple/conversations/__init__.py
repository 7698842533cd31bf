"""Conversations: ask or share, answer openly, and hear each other back (issue 14).

A capability: its row in couple/capabilities.py names what it brings to the app.
"""
