"""`make eval`: every detector pipeline on clips built from real material that packages
ship, scored against ground truth written by looking at frames (docs/accuracy.md)."""
