"""AWS provider: action catalog, snapshot loading into the common model, live collection."""
