"""Network helpers: name resolution for the webhook address rule."""
