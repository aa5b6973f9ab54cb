"""colossus: collective communication for host memory, GPUs and simulation."""
