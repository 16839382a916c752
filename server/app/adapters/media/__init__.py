"""Reading video containers without decoding them (MP4 box headers and tables)."""
