"""The reliability and security suite: load, faults and hostile input, with the figures docs/reliability.md states."""
