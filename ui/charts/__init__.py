"""ui.charts: every Altair chart the app draws, with one theme."""
