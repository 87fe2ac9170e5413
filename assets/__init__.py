"""Bundled assets: the trained model, its metadata, icons."""
