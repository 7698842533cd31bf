"""Accounts: sign up, log in, log out, sessions, password, export and deletion."""
