"""The market as the platform keeps it: the instrument master (`instruments`), latest prices and
quotes in Redis (`prices`), minute bars and their rollups (`bars`)."""
