"""pytest: the build helpers here need the docs extra and hold no doctests."""

collect_ignore = ["griffe_attrs.py", "offline_math.py"]
