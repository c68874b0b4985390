"""costs package of hybridsim."""
