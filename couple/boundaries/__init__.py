"""The shared boundaries editor: a Yjs document per couple, co-edited live, agreed by both.

A capability: its row in couple/capabilities.py names what it brings to the app.
"""
