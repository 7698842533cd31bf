"""Commitments and follow-through: promises each partner makes, marks, acknowledgements."""
