"""Job storage in a relational database (SQLAlchemy 2), plus an in-memory twin."""
