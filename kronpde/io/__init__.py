"""The file layer: case files in, result files out (and read back)."""
