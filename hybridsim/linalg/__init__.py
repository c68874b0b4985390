"""linalg package of hybridsim."""
