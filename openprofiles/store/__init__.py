"""Storage: SQLAlchemy Core tables, one module of queries per aggregate, one transaction per call.

The same statements run on SQLite (the embedded default) and PostgreSQL. Nothing here knows about
HTTP or the AWS protocol.
"""
