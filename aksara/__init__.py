"""Aksara."""
