"""Speed and memory benchmarks of hybridsim, each compared with a baseline measured in the same run."""
