"""The pool's PostgreSQL schema (peewee), migrations and connections."""
