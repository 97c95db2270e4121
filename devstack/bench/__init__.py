"""`make bench` / `python -m devstack.bench`: cold init, warm overhead, AWS calls, artifact sizes, local stack
throughput, printed as one markdown table with every figure next to its floor or target (see BENCHMARKS.md)."""
