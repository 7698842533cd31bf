"""Guides: each role's steps, a person's progress through them, and their reflections."""
