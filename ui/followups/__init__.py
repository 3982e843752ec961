"""'My follow-ups': the grouped model and its panel (done, cancel, reschedule)."""
