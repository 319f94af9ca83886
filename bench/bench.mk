# SPDX-License-Identifier: MIT
# make bench: the guest benchmark in the Bochs test bed (never a timed test).
# Runs on the minimal kernel with 1 CPU (exactly repeatable) and 2 CPUs;
# BENCH_CPUS overrides the list, E2E_KERNEL=debian uses Debian's kernel.
BENCH_CPUS ?= 1 2

.PHONY: bench
bench: e2e-deps $(E2E_TOOLS)
	$(TOP)/bench/run-bench.sh $(BENCH_CPUS)
