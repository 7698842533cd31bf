"""Guides: each role's steps, a person's progress through them, and their reflections.

A capability: its row in couple/capabilities.py names what it brings to the app.
"""
