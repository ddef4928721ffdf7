"""nhictl's shared core library: no Typer, no rich, usable from plain Python."""
