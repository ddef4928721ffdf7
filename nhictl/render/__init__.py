"""Output formats. Pure functions from result objects to text; the CLI owns stdout."""
