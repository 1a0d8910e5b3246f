"""Seamless cloning (Poisson image editing): each colour channel a masked Poisson solve.
=====================================================================================

Pérez, Gangnet and Blake (2003): to paste a region of a source image into a
target image without a visible seam, find the image ``f`` inside the region
``Ω`` whose Laplacian is the source's (``-Δf = -Δg``, the guidance field of
the source's gradients) and which equals the target on ``∂Ω``.  On the pixel
grid this is kronpde's problem on a *mask* (the pixels of ``Ω``) with a
Dirichlet embedded condition: the boundary sits at the first pixel outside
(``θ = 1``), the discrete problem of image editing.  The source is matplotlib's
sample image ``grace_hopper.jpg``; a region around one eye is cloned onto
the other side of the face, channel by channel, the solver prepared once.

Run ``python scripts/examples/seamless_cloning.py [--picture cloning.png]``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from kronpde import Dirichlet, Grid, Problem, prepare


def load() -> np.ndarray:
    """Return ``grace_hopper.jpg`` as floats in ``[0, 1]``, shape (rows, columns, 3)."""
    import matplotlib.cbook as cbook
    import matplotlib.pyplot as plt  # the picture only: matplotlib is the `plot` extra

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(plt.imread(f), dtype=float) / 255.0


def laplacian(image: np.ndarray) -> np.ndarray:
    """``-Δ`` of a channel with unit spacing (edge pixels: 0)."""
    out = np.zeros_like(image)
    out[1:-1, 1:-1] = (
        4 * image[1:-1, 1:-1]
        - image[2:, 1:-1]
        - image[:-2, 1:-1]
        - image[1:-1, 2:]
        - image[1:-1, :-2]
    )
    return out


def clone(
    target: np.ndarray,
    source: np.ndarray,
    mask: np.ndarray,
    shift: tuple[int, int],
    clip: bool = True,
):
    """Paste ``source``'s pixels under ``mask`` (target coordinates) seamlessly into ``target``.

    ``shift``: the source pixel of target pixel ``(i, j)`` is ``(i + di, j + dj)``;
    ``clip``: keep the result in ``[0, 1]``.
    Returns the result and the iterations of each channel's solve.
    """
    rows, cols = target.shape[:2]
    grid = Grid.box([rows - 1, cols - 1], upper=[rows - 1.0, cols - 1.0])
    di, dj = shift
    result = target.copy()
    iterations = []
    for c in range(3):
        moved = np.roll(source[:, :, c], (-di, -dj), axis=(0, 1))  # the source under the mask
        guidance = laplacian(moved)
        tgt = target[:, :, c]

        def boundary(x, y, tgt=tgt):  # the target at the (outside) pixel: θ = 1
            return tgt[np.rint(x).astype(int), np.rint(y).astype(int)]

        problem = Problem(grid, source=guidance, domain=mask, embedded=Dirichlet(boundary))
        solver = prepare(problem, "auto")
        sol = solver.solve(rtol=1e-8)
        u = problem.grid.to_nodes(sol.x)
        result[:, :, c] = np.where(mask, np.clip(u, 0.0, 1.0) if clip else u, tgt)
        iterations.append(sol.report.iterations)
    return result, iterations


def main(argv: list[str] | None = None) -> int:
    """Run the example from the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--picture", default="", help="also save the picture to this file")
    args = parser.parse_args(argv)
    image = load()
    rows, cols = image.shape[:2]
    i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    # an ellipse around the subject's left eye, cloned 120 pixels to the right
    shift = (0, -120)
    mask = ((i - 205) / 40.0) ** 2 + ((j - 330) / 60.0) ** 2 < 1.0
    mask[0, :] = mask[-1, :] = mask[:, 0] = mask[:, -1] = False
    naive = image.copy()
    moved = np.roll(image, (-shift[0], -shift[1]), axis=(0, 1))
    naive[mask] = moved[mask]
    result, iterations = clone(image, image, mask, shift)
    seam = np.zeros_like(mask)
    seam[1:-1, 1:-1] = mask[1:-1, 1:-1] & ~(
        mask[2:, 1:-1] & mask[:-2, 1:-1] & mask[1:-1, 2:] & mask[1:-1, :-2]
    )
    jump_naive = float(np.mean(np.abs(naive - image)[seam]))
    jump_clone = float(np.mean(np.abs(result - image)[seam]))
    print(f"{int(mask.sum())} pixels cloned; iterations per channel {iterations}")
    print(f"mean jump across the seam: pasted {jump_naive:.3f}, cloned {jump_clone:.3f}")

    import matplotlib.pyplot as plt  # the picture only: matplotlib is the `plot` extra

    fig, axes = plt.subplots(1, 3, figsize=(12, 5))
    for ax, picture, title in zip(
        axes, (image, naive, result), ("target", "pasted", "seamless clone"), strict=True
    ):
        ax.imshow(picture)
        ax.set_title(title)
        ax.axis("off")
    if args.picture:
        fig.savefig(args.picture, dpi=100, bbox_inches="tight")
    if args.picture:
        print(f"picture: {args.picture}")
    return 0


if __name__ == "__main__":
    if status := main():
        sys.exit(status)
