"""The `video-jobs` command line (see app.cli.main)."""
