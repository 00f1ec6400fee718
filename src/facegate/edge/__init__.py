"""A door that decides at a central service (`facegate run --server URL --key KEY`)."""
