"""The floor's memory: sealed 15-minute intervals kept in a SQL database (PostgreSQL or SQLite).

``schema`` (tables) and ``migrations/`` (Alembic), ``store`` (connect, migrate,
idempotent upserts, reads), ``rows`` (a folded floor's sums as rows), ``writer``
(the bounded retry queue in front of the store), ``sink`` (the worker's hook),
``rollup`` (hours, days and sites by adding sums; figures as the replay report
computes them), ``daily`` (the daily XLSX report and its email).
"""
