"""Shipped SBML models and their metadata (data files)."""
