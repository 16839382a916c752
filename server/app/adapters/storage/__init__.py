"""File storage for uploads and results."""
