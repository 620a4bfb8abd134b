"""What the controller knows about the site, and the pure step from that to optimizer input."""
