"""The closed loop: station state, allocation, and the limits pushed to stations."""
