"""Providers: the units of work of each phase."""
