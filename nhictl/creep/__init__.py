"""Cloud-agnostic privilege-creep analysis on the common model (never raw cloud JSON)."""
