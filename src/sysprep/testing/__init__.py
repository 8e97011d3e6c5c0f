"""Helpers for testing sysprep and its providers."""
