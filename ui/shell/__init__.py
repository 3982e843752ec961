"""The shell: start-up, the main window that composes the screens, its actions and menus,
the tray, the idle lock, preferences, the shortcuts list and one instance per data folder."""
