"""This project's models: one file per model, found by class name (gaitgen new-model NAME)."""
