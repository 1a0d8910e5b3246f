"""A time series: one structured file per step and a ParaView collection (``.pvd``) of them.

For simulations that write every k steps: :class:`TimeSeriesWriter` adds one
``.vti``/``.vtr`` file per step (:func:`kronpde.io.vtk.write_structured`) and
rewrites the collection listing every (time, file) so far atomically after each
step, so a run that stops leaves a readable series.
"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from kronpde.io.atomic import replace_atomically
from kronpde.io.checks import FieldDataError, OutputError, check_compression, check_folder
from kronpde.io.vtk import _structured_extension, write_structured
from kronpde.io.xmltext import quoteattr

__all__ = ["TimeSeriesWriter"]


class TimeSeriesWriter:
    """Write one structured file per time step and keep a ParaView ``.pvd`` index of them.

    ``TimeSeriesWriter("run.pvd")`` writes the steps into the folder ``run/``
    beside it (created at the first step): ``run/run_000000.vti``,
    ``run/run_000001.vti``, ...  After each step the collection ``run.pvd``
    listing every (time, file) so far is replaced atomically, so a run that
    stops at any moment leaves a readable series of the steps written until
    then.  A new writer starts a new series: its first step replaces an
    existing ``run.pvd`` (older step files not listed are left alone).

    Parameters
    ----------
    path : str or path-like
        The collection file, ``.pvd``; its folder must exist.
    file_format : {".vti", ".vtr"}
        The format of the steps (``.vti`` needs uniform axes).
    compression : int, optional
        A zlib level 1 to 9 for the steps; None (default) writes raw data.

    Raises
    ------
    OutputError
        If ``path`` is not ``.pvd``, its folder is not writable, or the format
        is not ``.vti``/``.vtr``.

    Examples
    --------
    >>> import tempfile
    >>> x = np.linspace(0.0, 1.0, 9)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     series = TimeSeriesWriter(pathlib.Path(tmp) / "run.pvd")
    ...     for step in range(3):
    ...         _ = series.write(0.5 * step, [x], {"u": np.sin(x - step)})
    ...     [(t, f.name) for t, f in series.steps]
    [(0.0, 'run_000000.vti'), (0.5, 'run_000001.vti'), (1.0, 'run_000002.vti')]
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        file_format: str = ".vti",
        *,
        compression: int | None = None,
    ):
        self.path = pathlib.Path(path)
        if self.path.suffix.lower() != ".pvd":
            msg = f"cannot write {str(self.path)!r}: a time series' index is a .pvd file"
            raise OutputError(msg)
        check_folder(self.path)
        self.folder = self.path.parent / self.path.stem
        self.extension = _structured_extension(self.folder / "step", file_format)
        check_compression(compression)
        self.compression = compression
        self._steps: list[tuple[float, pathlib.Path]] = []

    @property
    def steps(self) -> list[tuple[float, pathlib.Path]]:
        """The (time, file) of every step written so far, in order."""
        return list(self._steps)

    def step_path(self, number: int) -> pathlib.Path:
        """Return the file of step ``number`` (counted from 0)."""
        return self.folder / f"{self.path.stem}_{number:06d}{self.extension}"

    def write(
        self,
        time: float,
        nodes: Sequence[np.ndarray],
        point_data: Mapping[str, np.ndarray] | None = None,
        cell_data: Mapping[str, np.ndarray] | None = None,
    ) -> pathlib.Path:
        """Write the step at ``time`` (see :func:`write_structured`) and update the index.

        Parameters
        ----------
        time : float
            Finite, later than the previous step's.
        nodes, point_data, cell_data
            As for :func:`write_structured`.

        Returns
        -------
        pathlib.Path
            The step's file.
        """
        time = self._check_time(time)
        self.folder.mkdir(exist_ok=True)
        file = write_structured(
            self.step_path(len(self._steps)),
            nodes,
            point_data,
            cell_data,
            compression=self.compression,
        )
        self.add(time, file)
        return file

    def add(self, time: float, file: str | os.PathLike[str]) -> pathlib.Path:
        """List an already written file (e.g. a parallel index) as the step at ``time``.

        Parameters
        ----------
        time : float
            Finite, later than the previous step's.
        file : str or path-like
            The step's file (any VTK format ParaView reads), normally beside
            or below the ``.pvd``.

        Returns
        -------
        pathlib.Path
            The ``.pvd`` file.
        """
        time = self._check_time(time)
        self._steps.append((time, pathlib.Path(file)))
        try:
            return replace_atomically(self.path, self._write_index, OutputError)
        except BaseException:
            self._steps.pop()
            raise

    def _check_time(self, time: float) -> float:
        try:
            t = float(time)
        except (TypeError, ValueError):
            t = math.nan
        if not math.isfinite(t) or isinstance(time, bool):
            msg = f"time must be a finite number, got {time!r}"
            raise FieldDataError(msg)
        if self._steps and not t > self._steps[-1][0]:
            msg = f"time {t!r} must be later than the previous step's, {self._steps[-1][0]!r}"
            raise FieldDataError(msg)
        return t

    def _write_index(self, tmp: str) -> None:
        lines = [
            '<?xml version="1.0"?>',
            '<VTKFile type="Collection" version="1.0" byte_order="LittleEndian">',
            "  <Collection>",
        ]
        for t, file in self._steps:
            ref = os.path.relpath(os.path.abspath(file), os.path.abspath(self.path.parent))
            ref = pathlib.Path(ref).as_posix()
            lines.append(f'    <DataSet timestep="{t!r}" group="" part="0" file={quoteattr(ref)}/>')
        lines += ["  </Collection>", "</VTKFile>", ""]
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
