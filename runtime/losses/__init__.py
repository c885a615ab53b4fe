"""Losses: the BaseLoss contract, the aggregator and the built-in losses."""
