"""Speed and memory benchmarks of hybridsim, each against a baseline measured in the same run."""
