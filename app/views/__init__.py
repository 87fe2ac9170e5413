"""One widget per live view: probabilities, the 28×28 input, feature maps."""

import pyqtgraph as pg

# Views pass images as (row, column) arrays, as NumPy and the model do.
pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
