"""Schema migrations, applied in order by db.migrate: NNNN_name.py modules with up(database)."""
