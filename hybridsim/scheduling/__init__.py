"""scheduling package of hybridsim."""
