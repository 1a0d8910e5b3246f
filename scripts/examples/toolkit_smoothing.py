"""The Kronecker toolkit: separable smoothing of an image
=======================================================

The seed chapter's experiment: a 2-D filter that is the outer product of two
1-D filters, ``H ⊗ H``, applied as two 1-D passes (:func:`kronpde.toolkit.separable_filter`)
without forming the ``n² x n²`` matrix.  It equals the formed product
``(H ⊗ H) vec(X)`` and ``scipy.ndimage``'s 2-D correlation.
"""

import matplotlib.pyplot as plt
import numpy as np
import scipy.ndimage

from kronpde.toolkit import separable_filter, unvec, vec

rng = np.random.default_rng(1)
n = 40
square = np.zeros((n, n))
square[10:30, 12:28] = 1.0
image = square + 0.3 * rng.standard_normal((n, n))
h = np.array([0.25, 0.5, 0.25])

smooth = image
for _ in range(4):  # four passes of the binomial filter
    smooth = separable_filter(smooth, h, h)

H = 0.5 * np.eye(n) + 0.25 * np.eye(n, k=1) + 0.25 * np.eye(n, k=-1)
formed = image
for _ in range(4):
    formed = unvec(np.kron(H, H) @ vec(formed), image.shape)
ndimage = image
for _ in range(4):
    ndimage = scipy.ndimage.correlate(ndimage, np.outer(h, h), mode="constant")
print(f"max |separable - formed (H ⊗ H)|  = {np.abs(smooth - formed).max():.1e}")
print(f"max |separable - scipy.ndimage|   = {np.abs(smooth - ndimage).max():.1e}")
print(f"noise (std off the square): {image[:8].std():.3f} -> {smooth[:8].std():.3f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.8))
titles = ("noisy image", "smoothed, H ⊗ H four times")
for ax, picture, title in zip(axes, (image, smooth), titles, strict=True):
    ax.imshow(picture, cmap="gray")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
