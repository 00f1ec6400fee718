"""The camera loop: sources, activity gate, tracker, best-frame selection."""
