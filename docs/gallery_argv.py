"""The command-line arguments each gallery example runs with during the docs build.

Examples run at their own defaults unless named here; the sizes here keep the
whole gallery within seconds.  A new example either has small defaults or gets
an entry.
"""

from __future__ import annotations

from pathlib import Path

#: file name -> arguments for the build (small grids, few steps, and --plot)
ARGV = {
    "heat3d.py": ["--cells", "24", "--steps", "40", "--dt", "2e-3", "--every", "10", "--plot"],
    "variable_diffusion.py": ["--cells", "32", "32", "--steps", "8", "--plot"],
    "mac_projection.py": ["--cells", "48", "36", "--steps", "6", "--plot"],
    "sphere_capacitance.py": ["--per-radius", "6"],  # 24³ to 72³ cells: 4 s instead of 8
}


def reset_argv(gallery_conf, script_vars) -> list[str]:
    """Return the ``sys.argv[1:]`` of one example (sphinx-gallery's ``reset_argv``)."""
    return list(ARGV.get(Path(script_vars["src_file"]).name, []))
