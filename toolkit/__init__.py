"""信访积案台账工具 (taizhang)."""
__version__ = "0.1.0"
