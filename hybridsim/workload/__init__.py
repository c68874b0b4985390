"""workload package of hybridsim."""
