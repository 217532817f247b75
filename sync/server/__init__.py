"""The central tally server: FastAPI app, SQLite/PostgreSQL storage, mutual-TLS front, embedded runner.

Start it with ``uketsuke server`` or, in-process, ``sync.server.runner.start_embedded``.
"""
