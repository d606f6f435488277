"""The chain's own record in PostgreSQL: ingestion, reconciliation and audit."""
