"""Export sinks: files the worker writes as frames finish, streamed later by the API."""
