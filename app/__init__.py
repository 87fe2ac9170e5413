"""The Qt GUI. It calls :mod:`digitscope.model`, never the reverse."""
