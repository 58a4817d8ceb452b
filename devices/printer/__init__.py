"""Ticket printers (取号机): the role, the ESC/POS driver and the simulated printer."""
