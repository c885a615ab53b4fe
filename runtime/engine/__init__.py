"""The engine: preparing a run, the training loop and the test phase."""
