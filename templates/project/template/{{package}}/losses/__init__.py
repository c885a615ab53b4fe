"""This project's losses: one file per loss, found by class name (gaitgen new-loss NAME)."""
