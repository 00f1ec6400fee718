"""Decisions: match.py (verify, identify, fusion), threshold.py (the 1:N threshold)."""
