"""Liveness cues over arrays: ring-vs-face motion, landmark planarity, blinks and mouth motion."""
