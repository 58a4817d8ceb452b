"""Hub subscribers: each turns journaled event batches into what one device family shows."""
