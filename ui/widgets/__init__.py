"""What several screens share: small dialogs, inputs, dates and counts in words, the icon
and colours, and the words shown for errors."""
