"""The core's tests need only the core (and Hypothesis): no server, no Textual, no fixtures of their own."""
