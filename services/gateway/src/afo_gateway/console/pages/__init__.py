"""One module per area of the console; each holds its router."""
