"""pandera schemas for the ledgers the toolkit validates."""
