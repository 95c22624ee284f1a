"""Geography: the point-to-unit routing index."""
