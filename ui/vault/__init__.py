"""The vault screens: create and unlock, change the passphrase, and the upkeep that acts on
the whole vault (back up, restore, check integrity)."""
