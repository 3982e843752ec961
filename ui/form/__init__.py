"""The guided decision form: its sections, answer controls, wording and people."""
