"""Accounts: sign up, log in, log out, sessions, password, export and deletion.

A capability: its row in couple/capabilities.py names what it brings to the app.
"""
