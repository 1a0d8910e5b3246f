"""The checks every layer shares: real numbers, counts, one of these choices."""
