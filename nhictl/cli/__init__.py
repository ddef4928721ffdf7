"""Typer commands: parse, call the core, render. No business logic, SQL or SDK calls here."""
