"""Conversations: ask or share, answer openly, and hear each other back (issue 14)."""
