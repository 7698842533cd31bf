"""Pages that belong to no single capability: landing, home, state, health, safety."""
