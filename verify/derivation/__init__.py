"""Checking a derivation written in LaTeX, equation by equation and step by step."""
