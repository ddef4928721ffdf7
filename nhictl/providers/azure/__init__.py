"""Azure provider: role assignments, role definitions, service principals, usage -> common model."""
