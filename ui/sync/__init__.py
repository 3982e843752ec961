"""Sync in the window: sign in and out, the status bar's words, Sync details, auto sync."""
