"""Computing: the official working-day calendar (calendar) and every case's deadline,
alert, checklist completion and readiness to close (cases)."""
