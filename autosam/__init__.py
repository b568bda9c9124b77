"""AutoSAM: adapting a frozen SAM to medical images by overloading its prompt encoder."""
__version__ = "0.1.0"
