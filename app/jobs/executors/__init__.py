"""Where jobs run: the executors (local worker processes, Ray actors) and what runs inside them."""
