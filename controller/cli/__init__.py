"""`hallctl`: the command line, and the hall process it starts."""
