"""GCP provider: predefined-role catalog, offline loader, knowledge and ``audit_gcp``."""
