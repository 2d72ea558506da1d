"""Live updates over websockets: the consumers and their routing, the market hub that fans ticks out
to sockets (`hub`), and the user event stream the services publish to (`streams`)."""
