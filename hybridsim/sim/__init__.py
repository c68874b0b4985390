"""sim package of hybridsim."""
