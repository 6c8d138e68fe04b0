"""The project's own rules (lint, types, import contracts, the wheel, the benchmarks' working) need no fixtures."""
