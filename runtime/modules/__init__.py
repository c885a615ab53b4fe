"""Reusable network building blocks (OpenGait's modules) and backbones."""
