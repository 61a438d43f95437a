"""Unit tests of the pure policy: states, manifest parsing, ids, index schemas, verdicts."""
