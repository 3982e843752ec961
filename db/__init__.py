"""The encrypted vault: the only code that speaks SQL to it."""
