"""Market-data feeds: the tick records and the interface (`base`), the simulated and replayed feeds,
Kite's ticker (`kite`), the one the settings name (`configured`), and the feed process that stores,
publishes and matches what they deliver (`runner`)."""
